"""Bad input to the AWS annex commands: exit code 2, one line that says what to fix, no
traceback, no secret echoed, and nothing created in the account or in the state home."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from tests.commands import run_command

from condor_annex.model import AnnexRecord
from condor_annex.providers.aws import SetupRecord
from condor_annex.providers.aws.account.inventory import take_inventory
from condor_annex.store import Store

SECRET = "not-a-real-secret"
REAL_CACHE = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))


def one_line_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode == 2, (proc.args, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0], lines[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert SECRET not in proc.stdout + proc.stderr


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def key_files(tmp_path: Path) -> tuple[Path, Path]:
    access, secret = tmp_path / "access", tmp_path / "secret"
    access.write_text("AKIAEXAMPLE\n")
    secret.write_text(SECRET + "\n")
    access.chmod(0o600)
    secret.chmod(0o644)  # others can read it
    return access, secret


def annex(home: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_command("annex", *args, env={"CONDOR_ANNEX_HOME": str(home), **(env or {})})


def classic(*args: str) -> Any:
    return run_command("condor_annex", *args)


def create(home: Path, *extra: str, env: dict[str, str] | None = None) -> Any:
    base = ["create", "x", "--provider", "aws", "--image", "ami-12c6146b", "--yes"]
    return annex(home, *base, *extra, env=env)


def test_bad_input_before_setup_creates_nothing(
    session: Any, home: Path, key_files: tuple[Path, Path]
) -> None:
    access, secret = key_files
    no_credentials = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    cases = [
        (create(home, "--region", "mars-1"), "is not an AWS region"),
        (create(home, env=no_credentials), "no AWS credentials found"),
        (
            create(home, "--access-key-file", str(access), "--secret-key-file", str(secret)),
            "readable by others",
        ),
        (create(home), "not set up in us-east-1; run `annex setup"),
        (create(home, "--count", "0"), "count 0 is below 1"),
        (annex(home, "create", "x", "--image", "ami-1", "--yes"), "only apply to --provider aws"),
        (annex(home, "status", "nope"), "no annex named 'nope'"),
        (annex(home, "renew", "nope", "--duration", "1h"), "no annex named 'nope'"),
        (annex(home, "off", "nope"), "no annex named 'nope'"),
        (classic("-count", "0", "-annex-name", "x", "-aws-region", "eu-west-1"), "count 0"),
    ]
    for proc, needle in cases:
        one_line_error(proc, needle)
    assert take_inventory(session).empty
    assert not (home / "annexes").exists() or not any((home / "annexes").iterdir())


def test_bad_launch_choices_after_setup_create_nothing(
    session: Any, objects_allowed: SetupRecord, home: Path
) -> None:
    before = take_inventory(session)
    cases = [
        (create(home, "--image", "ami-00000000000000000"), "does not exist"),
        # No image: the region's Amazon Linux 2023 for the type's architecture (so a
        # type that does not exist is refused before anything is made).
        (
            annex(
                home,
                "create",
                "x",
                "--provider",
                "aws",
                "--instance-type",
                "x9.mystery",
                env={"HOME": str(home), "XDG_CACHE_HOME": REAL_CACHE},  # no recorded image
            ),
            "instance type x9.mystery does not exist",
        ),
        (create(home, "--spot"), "--spot needs --instance-types"),
        (create(home, "--tag", "aws:owner=me"), "is reserved"),
        (create(home, "--tag", "novalue"), "is not KEY=VALUE"),
        (
            create(home, "--instance-policy", "arn:aws:iam::123456789012:policy/nope"),
            "does not exist; check --instance-policy",
        ),
        (create(home, "--instance-policy", "read-everything"), "is not an IAM policy ARN"),
        (create(home, "--duration", "1h", "--idle", "2h"), "longer than the lease"),
    ]
    for proc, needle in cases:
        one_line_error(proc, needle)
    after = take_inventory(session)
    assert after.lines() == before.lines()  # the setup's parts only: no instance, no role
    assert not (home / "annexes").exists() or not any((home / "annexes").iterdir())


def test_status_of_all_shows_what_it_cannot_ask_as_last_known(home: Path) -> None:
    """`annex status` lists every annex even when one provider cannot be asked now; the
    one named alone is a one-line error."""
    store = Store(home)
    now = time.time()
    for name, provider, region in (("here", "local", ""), ("cloud", "aws", "us-east-1")):
        record = AnnexRecord(name, provider, 2, now + 3600, 600, 1, 1024, created_at=now)
        record.region = region
        store.save_annex(record)
    no_credentials = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}

    listed = annex(home, "status", "--json", env=no_credentials)
    assert listed.returncode == 0, listed.stderr
    by_name = {s["name"]: s for s in json.loads(listed.stdout)}
    assert by_name["here"]["stale"] == ""
    assert by_name["cloud"]["stale"].startswith("last known state; cannot ask now: no AWS")
    assert by_name["cloud"]["requested"] == 2

    one_line_error(annex(home, "status", "cloud", env=no_credentials), "no AWS credentials")
