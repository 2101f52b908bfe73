"""`condor_annex` on bad input, against moto: every new option's bad value is exit 2,
one line naming this command's flag, and nothing is made; and `annex` and
`condor_annex` agree on the same input (the same exit code, the same message in each
command's own flag names), from the one error mapping."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.commands import run_command

from condor_annex.cli.classicusage import FLAGS, in_classic_words
from condor_annex.providers.aws import SetupRecord
from condor_annex.providers.aws.account.inventory import take_inventory

REAL_CACHE = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A state home with no pool, and a HOME of its own (no recorded default image)."""
    (tmp_path / "user").mkdir()
    return {
        "CONDOR_ANNEX_HOME": str(tmp_path / "state"),
        "HOME": str(tmp_path / "user"),
        "XDG_CACHE_HOME": REAL_CACHE,  # the shared HTCondor runtime
    }


def message(proc: subprocess.CompletedProcess[str]) -> str:
    """The one line of a failure, after `PROG[ subcommand]: error: `."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return lines[0].split(": error: ", 1)[1]


def test_help_lists_every_flag_of_the_manual_page(env: dict[str, str]) -> None:
    proc = run_command("condor_annex", "-help", env=env)
    assert proc.returncode == 0 and proc.stderr == ""
    for flag in FLAGS:
        assert f"\n  {flag.name}" in proc.stdout, flag.name
    for form in ("-setup [FROM INSTANCE", "status [condor_status options]", "-status [-classad]"):
        assert form in proc.stdout
    assert "Ignored: leases are instance tags" in proc.stdout  # what the developer flags do


AGREE = [
    # (annex create ..., condor_annex ..., the messages must match word for word)
    (["--count", "0"], ["-count", "0"], True),
    (["--count", "1", "--duration", "0.1", "--idle", "0.2"],
     ["-count", "1", "-duration", "0.1", "-idle", "0.2"], True),
    # No -idle: both keep the idle limit within the lease and go on (to the missing pool).
    (["--count", "1", "--duration", "0.1"], ["-count", "1", "-duration", "0.1"], True),
    (["--count", "1", "--duration", "soon"], ["-count", "1", "-duration", "soon"], False),
    (["--count", "1", "--provider", "aws", "--image", "ami-12c6146b"],
     ["-count", "1", "-aws-on-demand-ami-id", "ami-12c6146b"], True),
]  # fmt: skip


def test_both_commands_agree_on_the_same_input(
    env: dict[str, str], aws_env: str, tmp_path: Path
) -> None:
    local = {**env, "_CONDOR_ANNEX_DEFAULT_PROVIDER": "local"}
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "x.config").symlink_to("/etc/hostname")
    script = tmp_path / "not-a-script"
    script.write_text("echo hi\n")
    shared = [
        (["--count", "1", "--provider", "aws", "--config-dir", str(linked)],
         ["-count", "1", "-config-dir", str(linked)], True),
        (["--count", "1", "--provider", "aws", "--user-data-file", str(script)],
         ["-count", "1", "-aws-user-data-file", str(script)], True),
    ]  # fmt: skip
    for annex_args, classic_args, same_words in [*AGREE, *shared]:
        chosen = env if "--provider" in annex_args else local
        annex = run_command("annex", "create", "x", *annex_args, "--yes", env=chosen)
        classic = run_command("condor_annex", "-annex-name", "x", *classic_args, "-yes", env=chosen)
        assert annex.returncode == classic.returncode == 2, (annex.stderr, classic.stderr)
        if same_words:
            assert message(classic) == in_classic_words(message(annex)), annex_args
        assert "--" not in message(classic)
    # The case: -duration 0.1 is no longer refused for an idle limit it never gave.
    proc = run_command("condor_annex", "-count", "1", "-duration", "0.1", "-annex-name", "x",
                       "-yes", env=local)  # fmt: skip
    assert "idle" not in message(proc) and "pool" in message(proc)
    # Not set up: each command names its own way to set up.
    proc = run_command("condor_annex", "-count", "1", "-annex-name", "x", "-yes", env=env)
    assert message(proc).endswith("run `condor_annex -aws-region us-east-1 -setup`")


def test_bad_input_for_each_new_option_is_one_line_and_makes_nothing(
    session: Any, objects_allowed: SetupRecord, env: dict[str, str], tmp_path: Path, aws_env: str
) -> None:
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    foreign = ec2.create_security_group(GroupName="far", Description="x", VpcId=vpc)["GroupId"]
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "x.config").symlink_to("/etc/hostname")
    no_shebang = tmp_path / "no-shebang"
    no_shebang.write_text("echo hi\n")
    with_profile = tmp_path / "profile.json"
    with_profile.write_text(json.dumps({"LaunchSpecifications": [
        {"InstanceType": "m5.large", "IamInstanceProfile": {"Arn": "arn:aws:iam::1:x/y"}}
    ]}))  # fmt: skip
    good_fleet = tmp_path / "fleet.json"
    good_fleet.write_text(json.dumps({"LaunchSpecifications": [{"InstanceType": "m5.large"}]}))
    create = ["-annex-name", "x", "-count", "1", "-yes"]
    spot = ["-annex-name", "x", "-slots", "2", "-yes"]
    cases = [
        ([*create, "-aws-on-demand-key-name", "nope"],
         "key pair 'nope' does not exist in this region; check -aws-on-demand-key-name"),
        ([*create, "-aws-on-demand-security-group-ids", foreign],
         "is not in the setup's VPC"),
        ([*create, "-aws-user-data", "echo hi"], "-aws-user-data is not user data cloud-init runs"),
        ([*create, "-aws-user-data-file", str(no_shebang)], "is not user data cloud-init runs"),
        ([*create, "-aws-default-user-data-file", str(tmp_path / "nope")], "cannot be read"),
        ([*create, "-aws-user-data", "#!/bin/sh", "-aws-default-user-data", "#!/bin/sh"],
         "give one of -aws-user-data, -aws-default-user-data, not several"),
        ([*create, "-config-dir", str(linked)], "-config-dir: "),
        ([*create, "-config-dir", str(tmp_path / "nope")], "-config-dir"),
        ([*spot, "-aws-spot-fleet-config-file", str(with_profile)],
         "IamInstanceProfile cannot be used: each annex gets its own instance role"),
        ([*spot, "-aws-spot-fleet-config-file", str(tmp_path / "nope")], "cannot be read"),
        (spot, "-slots needs -aws-spot-fleet-config-file"),
        ([*spot, "-aws-spot-fleet-config-file", str(good_fleet), "-aws-on-demand-key-name", "k"],
         "only for on-demand annexes (-count)"),
        ([*spot, "-aws-spot-fleet-config-file", str(good_fleet), "-aws-on-demand"],
         "-aws-on-demand: only for on-demand annexes"),
        ([*create, "-aws-spot-fleet-config-file", str(good_fleet)], "only for spot fleets"),
        ([*create, "-aws-spot-fleet"], "-aws-spot-fleet: only for spot fleets (-slots)"),
        ([*create, "-aws-ec2-url", "http://ec2.example.org"], "must use https"),
        ([*create, "-aws-s3-url", "s3.example.org"], "is not an endpoint URL"),
        (["-setup", "one-file"], "-setup takes FROM INSTANCE, or an access key file"),
        (["-setup", "a", "b", "https://cloudformation.example"], "-setup takes FROM INSTANCE"),
        (["-setup", "FROM", "INSTANCE"], "no instance role credentials"),
        (["-status", "-config-dir", str(linked)], "-config-dir: only when starting"),
        (["-annex-name", "x", "-slots", "two", "-aws-spot-fleet-config-file", str(good_fleet)],
         "-slots takes a whole number"),
    ]  # fmt: skip
    before = take_inventory(session).lines()
    for args, needle in cases:
        proc = run_command("condor_annex", *args, env=env)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        line = message(proc)
        assert needle in line, (needle, line)
        assert "--" not in line.replace("-- ", ""), line  # this command's flags only
    assert take_inventory(session).lines() == before
    state = Path(env["CONDOR_ANNEX_HOME"]) / "annexes"
    assert not state.exists() or not any(state.iterdir())
