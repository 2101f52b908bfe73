"""What an annex's token may do at the pool (issue 9, High 3), against real daemons.

The collector takes ads from annex NAME's token only as annex NAME's (AnnexName and a
Name ending in "@NAME"); a token the tool revoked (`off`) or replaced (`renew`) does not
authenticate at all; and the seed's schedd runs a job on an owner-restricted annex only
for its owners, whatever the annex's startds advertise as their START.

Ads are sent with HTCondor's own condor_advertise, one fresh process (one fresh
authentication) each, holding only the token under test. The collector handles updates
in the order they arrive, so once a later control ad is visible an earlier refused one
is known to have been refused, not merely slow.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import classad2
import htcondor2
from tests.condor.jobs import USER, queue, submit, wait_done, wait_slots
from tests.condor.test_owner import IDLE, rejected_since

from condor_annex import Annexes
from condor_annex.secretfiles import write_secret
from condor_annex.waiting import wait_for

UPDATE = {"Machine": "UPDATE_STARTD_AD", "Master": "UPDATE_MASTER_AD"}


def advertise(
    annexes: Annexes, workdir: Path, token: str, ad: dict[str, object]
) -> subprocess.CompletedProcess[str]:
    """Send one ad to the pool's collector as the holder of `token` (and nothing else)."""
    tokens = workdir / f"tokens-{time.monotonic_ns()}"
    tokens.mkdir(mode=0o700)
    write_secret(tokens / "token", token)
    path = workdir / f"ad-{time.monotonic_ns()}"
    path.write_text("".join(f"{k} = {classad2.ExprTree(repr_value(v))}\n" for k, v in ad.items()))
    env = {
        "CONDOR_CONFIG": str(annexes.pool.config),
        "_CONDOR_SEC_TOKEN_DIRECTORY": str(tokens),
        "_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS": "IDTOKENS",
    }
    argv = ["condor_advertise", "-tcp", UPDATE[str(ad["MyType"])], str(path)]
    return subprocess.run(
        annexes.runtime.command(argv, env=env, cwd=workdir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def repr_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return classad2.quote(value)
    return str(value)


def worker_ad(kind: str, name: str, annex: str) -> dict[str, object]:
    address = "<127.0.0.1:9>"
    ad: dict[str, object] = {
        "MyType": kind,
        "Name": name,
        "Machine": "forged.example",
        "MyAddress": address,
        "AnnexName": annex,
        "IsAnnex": True,
    }
    if kind == "Machine":
        ad |= {"StartdIpAddr": address, "SlotID": 1, "State": "Unclaimed", "Start": True}
    else:
        ad["MasterIpAddr"] = address
    return ad


def names(annexes: Annexes, kind: str) -> set[str]:
    collector = htcondor2.Collector(annexes.pool.require_up().collector)
    ad_type = htcondor2.AdType.Startd if kind == "Machine" else htcondor2.AdType.Master
    return {str(ad["Name"]) for ad in collector.query(ad_type, projection=["Name"])}


def sent_then_seen(annexes: Annexes, workdir: Path, token: str, control: dict[str, object]) -> None:
    """Send the control ad and wait until the collector shows it."""
    sent = advertise(annexes, workdir, token, control)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    name, kind = str(control["Name"]), str(control["MyType"])
    wait_for(lambda: name in names(annexes, kind), 30, f"control ad {name}", 0.2)


def test_an_annex_token_advertises_only_its_own_annex(annexes: Annexes, workdir: Path) -> None:
    annexes.pool.require_up()
    token_a = annexes.pool.worker_token("tok-a", 600)
    annexes.pool.worker_token("tok-b", 600)  # annex b exists too, with its own key
    forged = [
        worker_ad("Machine", "slot1@i-forged@tok-b", "tok-b"),  # b's name and AnnexName
        worker_ad("Machine", "slot1@i-forged2@tok-b", "tok-a"),  # b's name, own AnnexName
        worker_ad("Machine", "slot1@i-forged3@tok-a", "tok-b"),  # own name, b's AnnexName
        worker_ad("Master", "i-forged@tok-b", "tok-b"),
        {**worker_ad("Machine", "slot1@i-forged4@tok-a", "tok-a"), "IsAnnex": False},
    ]
    for ad in forged:
        advertise(annexes, workdir, token_a, ad)
    sent_then_seen(annexes, workdir, token_a, worker_ad("Machine", "slot1@i-ok@tok-a", "tok-a"))
    sent_then_seen(annexes, workdir, token_a, worker_ad("Master", "i-ok@tok-a", "tok-a"))
    seen = names(annexes, "Machine") | names(annexes, "Master")
    assert not seen & {str(ad["Name"]) for ad in forged}


def test_revoked_and_replaced_tokens_do_not_authenticate(annexes: Annexes, workdir: Path) -> None:
    annexes.pool.require_up()
    ended = annexes.pool.worker_token("gone", 600)
    annexes.pool.revoke_annex_tokens("gone")  # what `off` does
    refused = advertise(annexes, workdir, ended, worker_ad("Machine", "slot1@i-1@gone", "gone"))
    assert refused.returncode != 0

    old = annexes.pool.worker_token("kept", 600)
    new = annexes.pool.renewed_worker_token("kept", 600)  # what `renew` does
    stale = advertise(annexes, workdir, old, worker_ad("Machine", "slot1@i-old@kept", "kept"))
    assert stale.returncode != 0
    sent_then_seen(annexes, workdir, new, worker_ad("Machine", "slot1@i-new@kept", "kept"))
    assert not {"slot1@i-1@gone", "slot1@i-old@kept"} & names(annexes, "Machine")


def test_the_seed_runs_no_stranger_s_job_on_an_owner_restricted_annex(
    annexes: Annexes, jobdir: Path
) -> None:
    # The annex's workers say START = True (as a forged or changed worker config would):
    # the seed's own rule is all that keeps USER's job off them.
    annexes.create(annexes.request("owned", 1, lease_seconds=600, idle_seconds=300))
    annexes.pool.restrict_annex_owners("owned", ["someoneelse"])
    wait_slots(annexes, "owned", 1)
    in_pool = time.time()
    cluster = submit(annexes, jobdir, seconds=1)

    wait_for(lambda: rejected_since(annexes, cluster, in_pool), 60, "a rejected match", 0.5)
    assert [ad["JobStatus"] for ad in queue(annexes, cluster)] == [IDLE]
    assert annexes.status("owned")[0].claimed == 0

    annexes.pool.restrict_annex_owners("owned", [USER])
    (done,) = wait_done(annexes, cluster)
    assert done["ExitCode"] == 0 and done["Owner"] == USER
