"""`condor_annex` with the classic single-dash flags drives the same annexes, here on the
local pool with real daemons (ANNEX_DEFAULT_PROVIDER = local: the classic command starts
annexes on AWS otherwise; the AWS forms are in tests/aws/test_classic_end_to_end.py)."""

from __future__ import annotations

import pwd
import subprocess
from pathlib import Path

import classad2
from tests.commands import run_command
from tests.condor.jobs import wait_slots

from condor_annex import Annexes

LOCAL = {"_CONDOR_ANNEX_DEFAULT_PROVIDER": "local"}


def test_classic_create_status_renew_and_bad_input(annexes: Annexes, home: Path) -> None:
    def classic(*args: str) -> subprocess.CompletedProcess[str]:
        return run_command("condor_annex", *args, env={"CONDOR_ANNEX_HOME": str(home), **LOCAL})

    made = classic("-count", "2", "-duration", "0.25", "-idle", "0.1", "-annex-name", "old", "-yes")
    assert made.returncode == 0, made.stderr
    me = pwd.getpwuid(0).pw_name
    # As the classic tool did: only the user who starts an annex runs jobs on it.
    assert f"Only jobs of {me} will run on it (-owner or -no-owner changes that)." in made.stdout
    assert annexes.store.load_annex("old").owners == [me]
    wait_slots(annexes, "old", 2)

    # -status -classad: one ClassAd per annex, in HTCondor's old format.
    listed = classic("-status", "-annex-name", "old", "-classad")
    assert listed.returncode == 0, listed.stderr
    (ad,) = classad2.parseAds(listed.stdout)
    assert ad["MyType"] == "Annex" and ad["AnnexName"] == "old"
    assert ad["Running"] == 2 and ad["IdleSeconds"] == 360 and ad["Slots"] == 2
    assert 800 < ad["LeaseLeftSeconds"] <= 900
    assert list(ad["NotInPool"]) == []

    # `status [condor_status options]`: HTCondor's own condor_status shows the slots in
    # the pool; no instance is missing, so there is no second table.
    view = classic("-annex-name", "old", "status", "-af", "AnnexName", "Name")
    assert view.returncode == 0, view.stderr
    lines = view.stdout.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("old slot") for line in lines), lines
    assert "not in the pool" not in view.stdout
    default_view = classic("status")  # every annex, condor_status's own table
    assert default_view.returncode == 0 and "Total" in default_view.stdout, default_view.stderr
    bad_view = classic("status", "-frobnicate")
    assert bad_view.returncode == 2 and bad_view.stderr.startswith("condor_annex: error: ")
    assert len(bad_view.stderr.strip().splitlines()) == 1, bad_view.stderr

    renewed = classic("-annex-name", "old", "-duration", "2")
    assert renewed.returncode == 0, renewed.stderr
    assert annexes.status("old")[0].lease_left_seconds > 7000

    anyone = classic("-count", "1", "-duration", "0.1", "-annex-name", "free", "-no-owner", "-yes")
    assert anyone.returncode == 0, anyone.stderr  # no -idle: at most the lease, as annex does
    assert annexes.store.load_annex("free").owners == []
    assert annexes.store.load_annex("free").idle_seconds == 360
    listed_owner = classic("-count", "1", "-annex-name", "two", "-owner", "alice,bob", "-yes")
    assert listed_owner.returncode == 0, listed_owner.stderr
    assert annexes.store.load_annex("two").owners == ["alice", "bob"]

    for args, needle in [
        (["-count", "0", "-annex-name", "zero", "-yes"], "below 1"),
        (["-count", "1", "-annex-name", "bad_name", "-yes"], "letters, digits"),
        (["-count", "1", "-annex-name", "x", "-duration", "soon", "-yes"], "not a duration"),
        (["-count", "one", "-annex-name", "x", "-yes"], "-count takes a whole number"),
        (["-annex-name", "nosuch", "-duration", "1"], "no annex named"),
        (["-count", "1", "-annex-name", "ask"], "-yes"),
        (["-frobnicate"], "unrecognized"),
        (["-count", "1", "-annex-name", "x", "-duration", "0.1", "-idle", "0.2", "-yes"],
         "shorten -idle or lengthen -duration"),
        (["-annex-name", "old", "-duration", "1", "-idle", "0.1"], "-idle: only when starting"),
        (["-status", "-count", "1"], "give one of -status, -count"),
        (["-owner", "a", "-no-owner", "-count", "1", "-annex-name", "x"], "not both"),
        (["-annex-name", "x"], "to renew an annex's lease give"),
        ([], "say what to do"),
        (["frobnicate"], "unknown word 'frobnicate'"),
    ]:  # fmt: skip
        proc = classic(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr, proc.stderr
        assert "--" not in proc.stderr, proc.stderr  # never the flags of `annex`
    assert annexes.store.annex_names() == ["free", "old", "two"]
