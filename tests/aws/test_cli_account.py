"""The account commands as a user types them, against moto's server (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.commands import run_command


def annex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_command("annex", *args, env=env)


def test_setup_check_reap_teardown(tmp_path: Path) -> None:
    config = tmp_path / "user_config"
    before = annex("check-setup", "--region", "us-east-1")
    assert before.returncode == 1
    assert "annex setup" in before.stdout  # says how to fix it

    made = annex("setup", "--region", "us-east-1", "--config-file", str(config))
    assert made.returncode == 0, made.stderr
    assert "Setup successful." in made.stdout
    assert "us_east_1.ANNEX_DEFAULT_S3_BUCKET" in config.read_text()

    checked = annex("check-setup", "--region", "us-east-1")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Checking for configuration bucket... OK." in checked.stdout
    assert "Your setup looks OK." in checked.stdout

    reaped = annex("reap", "--provider", "aws", "--region", "us-east-1", "--now", "0")
    assert reaped.returncode == 0, reaped.stdout + reaped.stderr

    # Teardown says what it will remove and asks; with no one to ask, it refuses.
    asked = annex("teardown", "--region", "us-east-1")
    assert asked.returncode == 2, asked.stdout + asked.stderr
    assert "Will remove everything condor-annex made in us-east-1" in asked.stdout
    assert "cloudformation-stack" in asked.stdout or "stack" in asked.stdout
    assert asked.stderr.strip() == (
        "annex: error: not confirmed; pass --yes to go ahead without a prompt"
    )
    still = annex("check-setup", "--region", "us-east-1")
    assert still.returncode == 0, still.stdout + still.stderr

    gone = annex("teardown", "--region", "us-east-1", "--yes")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "Nothing" in gone.stdout or "nothing" in gone.stdout


def test_bad_credentials_are_one_line_exit_2(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("AKIAEXAMPLE")
    key.chmod(0o644)
    secret = tmp_path / "secret"
    secret.write_text("not-a-real-secret")
    secret.chmod(0o600)
    cases = [
        (["setup", "--region", "mars-1"], {}, "not an AWS region"),
        (
            ["setup", "--region", "us-east-1"],
            {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""},
            "credentials",
        ),
        (
            ["setup", "--access-key-file", str(key), "--secret-key-file", str(secret)],
            {},
            "chmod 600",
        ),
    ]
    for args, env, needle in cases:
        proc = annex(*args, env=env)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], proc.stderr
        assert "not-a-real-secret" not in proc.stdout + proc.stderr
    nothing = annex("check-setup", "--region", "us-east-1")
    assert nothing.returncode == 1  # still nothing made
