"""The AWS worker boot script, run for real: the worker it starts joins a real pool and
runs a real job.

Everything an EC2 instance would do at boot happens here, only the cloud is stood in for:
the annex's bundle (a real pool token) goes to moto's S3 exactly as `annex create`
uploads it, the user data is rendered by `boot_script`, the metadata service is the
IMDSv2 stand-in, and the script runs inside the HTCondor runtime (the Debian 13 root, or
a native HTCondor), so its curl, boto3 and condor_master are the runtime's. Checked: the
startd joins the pool as the annex's worker, under the metadata service's instance id
and behind the collector's CCB; an ordinary user's job runs on it; a spot notice drains
it; and when its master exits the worker leaves the pool and the supervisor ends.

The script reads no setting from its environment, so the test runs its own copy with
the settings block rewritten (bootvariant.py): the stand-ins' addresses, state under the
test's directory, no poweroff, and SHARED_HOST=1, because here the pool's collector is on
the worker's own host, where a family session would be offered to it (and refused). The
firewall tools are recording stand-ins: real rules here would change this machine's
firewall (test_worker_imds_block.py runs the real block in a namespace of its own).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import classad2
import htcondor2
import pytest
from tests.condor import conftest as condor
from tests.condor.jobs import USER, history, queue, submit

from condor_annex import Annexes, processes
from condor_annex.model import AnnexRecord
from condor_annex.providers.aws import SetupRecord
from condor_annex.providers.aws.annexes.bootscript import boot_script
from condor_annex.providers.aws.annexes.bundleupload import upload_bundle
from condor_annex.runtime import install
from condor_annex.runtime.base import SYSTEM_PATH
from condor_annex.runtime.install import WORKER_TOOLS, missing_packages
from condor_annex.waiting import wait_for

from .annexkeys import POOL, prefix  # noqa: F401
from .bootvariant import boot_variant, recording_firewall
from .imds import INSTANCE_ID, FakeImds, imds_server  # noqa: F401 - the imds fixture

# The real pool's fixtures: a scratch directory, a running pool in a private home, a
# directory the ordinary user owns.
workdir, home, annexes, jobdir = condor.workdir, condor.home, condor.annexes, condor.jobdir

NAME = "bootreal"
REGION = "us-east-1"
TAG = f"aws-worker:{NAME}"  # marks the script's whole process tree, for the cleanup


def _require_worker_tools(annexes: Annexes) -> None:
    runtime: Any = annexes.runtime
    if runtime.kind == "chroot":
        missing = missing_packages(runtime.root, WORKER_TOOLS)
        assert not missing, f"the runtime lacks {missing}: run 'annex runtime install'"
    else:  # native: the host's curl, and the venv's python3 with boto3 (see _boot_env)
        assert shutil.which("curl"), "the boot script needs curl on this machine"


def _user_data(script: str, imds: str, moto: str, workdir: Path) -> str:
    return boot_variant(
        script,
        IMDS=imds,
        S3_ENDPOINT=moto,
        CONFIG_DIR=str(workdir / "etc"),
        LOCAL_DIR_OVERRIDE=str(workdir / "worker"),
        STATE_DIR=str(workdir / "run"),
        POWEROFF="0",
        POLL_SECONDS="1",
        # The pool's collector is on this host, a peer a family session would be offered to.
        SHARED_HOST="1",
    )


def _boot_env(annexes: Annexes, workdir: Path) -> dict[str, str]:
    firewall = workdir / "firewall-bin"
    recording_firewall(firewall, workdir / "firewall.log")
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PATH": f"{firewall}:{SYSTEM_PATH}",
        processes.TAG_VARIABLE: TAG,
    }
    runtime: Any = annexes.runtime
    if runtime.kind == "native":  # the venv's python3 has boto3; HTCondor's tools after it
        env["PATH"] = f"{firewall}:{Path(sys.executable).parent}:{runtime.sbin}:{SYSTEM_PATH}"
    return env


def _pid(state: Path, name: str) -> int | None:
    path = state / name
    return int(path.read_text()) if path.is_file() else None


@pytest.fixture
def worker_stopper(workdir: Path) -> Iterator[Path]:
    """Yields the boot script's state directory; afterwards, pass or fail, stops the
    master gracefully (SIGTERM: it takes its startd down), waits for the supervisor to
    see it go, and kills whatever of the tree is still there."""
    state = workdir / "run"
    yield state
    for name in ("master.pid", "supervisor.pid"):
        pid = _pid(state, name)
        if pid is None or not processes.is_alive(pid, None):
            continue
        if name == "master.pid":
            os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            wait_for(lambda p=pid: not processes.is_alive(p, None), 30, f"{name} to exit", 0.2)
    processes.kill_tagged(TAG)
    assert processes.tagged(TAG) == []


def _startd_ads(collector: str) -> list[classad2.ClassAd]:
    return list(
        htcondor2.Collector(collector).query(
            htcondor2.AdType.Startd,
            constraint=f"AnnexName =?= {classad2.quote(NAME)}",
            projection=["Name", "AnnexName", "AnnexInstanceID", "State", "MyAddress"],
        )
    )


@pytest.mark.condor
def test_boot_script_worker_joins_the_pool_and_runs_a_job(
    annexes: Annexes,
    jobdir: Path,
    workdir: Path,
    worker_stopper: Path,
    session: Any,
    objects_allowed: SetupRecord,
    imds: str,
    aws_env: str,
) -> None:
    started = time.monotonic()
    _require_worker_tools(annexes)
    info = annexes.pool.require_up()
    request = annexes.request(NAME, count=1, lease_seconds=900, idle_seconds=600)
    record = AnnexRecord.from_request(request, "aws")
    # What `annex create` uploads for an AWS annex: the bundle with a real pool token.
    upload_bundle(
        session.client("s3"), objects_allowed.bucket, prefix(NAME), annexes._bundle(record, info)
    )
    script = workdir / "user-data"
    script.write_text(
        _user_data(
            boot_script(NAME, prefix(NAME), objects_allowed.bucket, REGION), imds, aws_env, workdir
        )
    )
    state = worker_stopper

    argv = annexes.runtime.command(
        ["bash", str(script)], env=_boot_env(annexes, workdir), cwd=workdir
    )
    boot = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert boot.returncode == 0, boot.stderr
    assert "eyJ" not in boot.stdout + boot.stderr  # the token is never printed
    assert f"instance {INSTANCE_ID} of annex {NAME}" in boot.stderr
    assert FakeImds.unauthorised_gets == 0  # IMDSv2 only

    # The worker's startd joins the pool as this annex's worker, named by the metadata
    # service's instance id, and reachable through the collector's CCB (on EC2 it has no
    # inbound port).
    collector = info.collector
    log = state / "supervisor.log"
    _wait(lambda: bool(_startd_ads(collector)), 45, "the worker's startd in the pool", workdir)
    (ad,) = _startd_ads(collector)
    assert ad["AnnexName"] == NAME
    assert ad["AnnexInstanceID"] == INSTANCE_ID
    assert str(ad["Name"]).split("@")[1:] == [INSTANCE_ID, NAME]  # slot1@INSTANCE@ANNEX
    assert f"CCBID={collector.split(':')[0]}" in str(ad["MyAddress"])

    # An ordinary user's job runs there and succeeds.
    cluster = submit(annexes, jobdir, seconds=1)
    _wait(lambda: not queue(annexes, cluster), 60, f"job {cluster} to finish", workdir)
    (done,) = history(annexes, cluster)
    assert done["JobStatus"] == 4 and done["ExitCode"] == 0
    assert done["Owner"] == USER
    assert str(done["LastRemoteHost"]).split("@")[1] == INSTANCE_ID
    # Not as its owner (owners have no accounts on an image, STARTER_ALLOW_RUNAS_OWNER),
    # and not as a `nobody` every slot shares: as the slot's own user, made at boot.
    assert "as condor-slot1" in (jobdir / "job.0.out").read_text()
    assert "metadata service blocked" in boot.stderr

    # A spot interruption notice: the supervisor drains the startd (condor_drain as the
    # worker-local condor@), taking no new jobs.
    FakeImds.spot_notice = True
    _wait(
        lambda: [str(a.get("State")) for a in _startd_ads(collector)] == ["Drained"],
        30,
        "the worker to drain",
        workdir,
    )
    assert f"draining {INSTANCE_ID}@" in log.read_text()

    # The master exits (as at idle timeout or lease end): the worker leaves the pool and
    # the supervisor ends (it would power the instance off; ANNEX_POWEROFF=0 here).
    master, supervisor = _pid(state, "master.pid"), _pid(state, "supervisor.pid")
    assert master and supervisor
    os.kill(master, signal.SIGTERM)  # condor_master's graceful shutdown
    _wait(lambda: not processes.is_alive(supervisor, None), 30, "the supervisor to end", workdir)
    assert "not powering off" in log.read_text()
    _wait(lambda: not _startd_ads(collector), 30, "the startd ad to be withdrawn", workdir)
    print(f"boot, job, drain and exit of a real worker: {time.monotonic() - started:.1f}s")


def _wait(condition: Callable[[], bool], timeout: float, what: str, workdir: Path) -> None:
    """wait_for, failing with the worker's logs."""
    try:
        wait_for(condition, timeout, what, 0.5)
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{_diagnostics(workdir)}") from None


def _diagnostics(workdir: Path) -> str:
    """The tails of the worker's logs, for a failure message."""
    parts = []
    logs = sorted((workdir / "worker" / "log").glob("*Log*"))
    for path in [workdir / "run" / "supervisor.log", *logs]:
        if path.is_file():
            parts.append(f"--- {path}\n" + "\n".join(path.read_text().splitlines()[-30:]))
    return "\n".join(parts)


def _dpkg_status(**packages: str) -> str:
    return "".join(f"Package: {name}\nStatus: {state}\n\n" for name, state in packages.items())


def test_runtime_install_adds_only_missing_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ready root from before the worker tools gets just those; a complete one, no apt."""
    if os.geteuid() != 0:
        pytest.skip("the installer needs root")
    root = tmp_path / "trixie"
    (root / install.DPKG_STATUS).parent.mkdir(parents=True)
    (root / install.READY_MARK).write_text("23.9.6\n")
    (root / install.DPKG_STATUS).write_text(
        _dpkg_status(
            condor="install ok installed",
            curl="install ok half-configured",  # an interrupted earlier upgrade
            **{"python3-boto3": "deinstall ok config-files"},
        )
    )
    apt: list[list[str]] = []
    monkeypatch.setattr(install, "_apt_install", lambda _rt, packages, _log: apt.append(packages))
    monkeypatch.setattr(install.ChrootRuntime, "prepare", lambda _self: None)
    said: list[str] = []

    install.install_chroot(root, said.append)
    assert apt == [["curl", "python3-boto3"]]
    assert said == ["Adding curl, python3-boto3 to the HTCondor runtime..."]

    (root / install.DPKG_STATUS).write_text(
        _dpkg_status(**dict.fromkeys(install.PACKAGES, "install ok installed"))
    )
    install.install_chroot(root, said.append)
    assert len(apt) == 1 and len(said) == 1  # complete: nothing to do
    assert install.missing_packages(root) == []
