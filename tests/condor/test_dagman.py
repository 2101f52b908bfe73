"""DAGMan as an ordinary user runs it: a person of this machine submits a diamond DAG from
their home directory with condor_submit_dag, and every node runs on annex workers with its
files moved by HTCondor's file transfer."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

from tests.condor.jobs import wait_done, wait_slots

from condor_annex import Annexes, poolquery
from condor_annex.runtime.users import Account

DIAMOND = Path(__file__).parent / "diamond"
NODE_ATTRS = ["DAGNodeName", "ExitCode", "Owner", "LastRemoteHost", "MachineAttrAnnexName0"]


def _dag_in_home(person: Account) -> Path:
    """The DAG and its files in the person's home, theirs, as they would have them."""
    dagdir = Path(person.home) / "diamond"
    shutil.copytree(DIAMOND, dagdir)
    for path in (dagdir, *dagdir.iterdir()):
        os.chown(path, person.uid, person.gid)
    return dagdir


def test_diamond_dag_with_file_transfer_runs_on_annex_workers(
    person: Account, annexes: Annexes
) -> None:
    record = annexes.create(annexes.request("dag", 2, lease_seconds=900, idle_seconds=600))
    wait_slots(annexes, "dag", 2)
    dagdir = _dag_in_home(person)

    argv = annexes.tool(["condor_submit_dag", "diamond.dag"], user=person.name, cwd=dagdir)
    submitted = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    match = re.search(r"submitted to cluster (\d+)\.", submitted.stdout)
    assert match, submitted.stdout
    dagman = int(match.group(1))

    (dag,) = wait_done(annexes, dagman, timeout=240)
    log = (dagdir / "diamond.dag.dagman.out").read_text()
    assert dag["ExitCode"] == 0, log[-2000:]
    assert dag["Owner"] == person.name

    collector = annexes.pool.require_up().collector
    nodes = poolquery.job_history(collector, f"DAGManJobId == {dagman}", NODE_ATTRS)
    assert sorted(str(n["DAGNodeName"]) for n in nodes) == ["A", "B", "C", "D"]
    workers = {w.id for w in record.workers}
    for node in nodes:
        assert node["ExitCode"] == 0 and node["Owner"] == person.name
        assert str(node["LastRemoteHost"]).split("@")[1] in workers, node
        assert node["MachineAttrAnnexName0"] == "dag", node

    # Each node read what file transfer brought it and sent its output back home.
    assert (dagdir / "A.out").read_text() == "A[seed]\n"
    assert (dagdir / "B.out").read_text() == "B[A[seed]]\n"
    assert (dagdir / "C.out").read_text() == "C[A[seed]]\n"
    assert (dagdir / "D.out").read_text() == "D[B[A[seed]]C[A[seed]]]\n"
    # The person's files stay theirs, and so does their token: nobody else may read it.
    assert (dagdir / "D.out").stat().st_uid == person.uid
    token = annexes.pool.users_dir / person.name / "token"
    st = token.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (person.uid, 0o600)
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
