"""The worker boot script, run as a real script against a local IMDSv2 stand-in and
moto's S3, with stand-ins for HTCondor's programs, useradd and the firewall tools on PATH
(the full worker-joins-a-pool test with real HTCondor is test_worker_boot_real.py; the
real metadata block is test_worker_imds_block.py). The script reads no setting from the
environment: each test runs its own copy with the settings block rewritten
(bootvariant.py). Also: rendering, and the price table.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from condor_annex.providers.aws import SetupRecord
from condor_annex.providers.aws.annexes.bootscript import USER_DATA_LIMIT, boot_script
from condor_annex.providers.aws.annexes.bundleupload import (
    LEASE_CONFIG,
    object_key,
    put_piece,
    upload_bundle,
    upload_lease,
)
from condor_annex.providers.aws.annexes.prices import InstanceUsage, estimated_cost, price_table
from condor_annex.providers.aws.annexes.userdata import worker_user_data
from condor_annex.workerconfig import lease_config

from .annexkeys import POOL, prefix
from .bootvariant import boot_variant, recording_firewall
from .imds import INSTANCE_ID, VPC_ID, FakeImds, imds_server  # noqa: F401 - the imds fixture
from .test_provider import annex, bundle


def fake_tools(bin_dir: Path, out: Path) -> None:
    """condor_master that reports start, HUP (reconfig) and TERM; condor_drain that logs;
    condor_token_create that prints its arguments as the token; a config of two slots;
    useradd and the firewall tools, which log their arguments."""
    bin_dir.mkdir()
    recording_firewall(bin_dir, out / "firewall")
    tools = {
        "condor_master": f"""#!/bin/bash
echo "$CONDOR_CONFIG $*" > {out}/master.started
trap 'echo hup >> {out}/master.hup' HUP
trap 'echo term > {out}/master.term; exit 0' TERM
while [ ! -e {out}/master.stop ]; do sleep 0.1; done
""",
        "condor_drain": f'#!/bin/sh\necho "$*" > {out}/drain\n',
        "condor_config_val": (
            '#!/bin/sh\ncase $1 in NUM_CPUS) echo 2 ;; *) echo "name-of-$1" ;; esac\n'
        ),
        "useradd": f'#!/bin/sh\necho "$*" >> {out}/useradd\n',
        "condor_token_create": '#!/bin/sh\necho "local-token $*"\n',
    }
    for name, text in tools.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)


def boot_env(tmp_path: Path, with_tools: bool) -> dict[str, str]:
    """The boot script's environment: the stand-ins and dummy keys."""
    tools = f"{tmp_path / 'bin'}:" if with_tools else ""
    return {
        "PATH": f"{tools}{Path(sys.executable).parent}:/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def boot_copy(
    tmp_path: Path, annex_name: str, bucket: str, imds: str, s3: str, **settings: str
) -> Path:
    """The rendered user data with the stand-ins' addresses and paths under tmp_path."""
    text = boot_script(annex_name, prefix(annex_name), bucket, "us-east-1")
    return write_variant(tmp_path, text, imds, s3, **settings)


def write_variant(tmp_path: Path, text: str, imds: str, s3: str, **settings: str) -> Path:
    """The tests' copy of user data `text` (bootvariant.py): the stand-ins' addresses, and
    its directories under tmp_path."""
    script = tmp_path / "user-data.sh"
    script.write_text(
        boot_variant(
            text,
            IMDS=imds,
            S3_ENDPOINT=s3,
            CONFIG_DIR=str(tmp_path / "etc"),
            STATE_DIR=str(tmp_path / "run"),
            **settings,
        )
    )
    return script


def run_boot(script: Path, env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script)],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wait_until(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_boot_script_fetches_installs_renews_and_drains(
    session: Any, objects_allowed: SetupRecord, imds: str, aws_env: str, tmp_path: Path
) -> None:
    record = annex("boot", 1)
    s3 = session.client("s3")
    upload_bundle(s3, objects_allowed.bucket, prefix("boot"), bundle(record, token="eyJ-first"))
    script = boot_copy(
        tmp_path, "boot", objects_allowed.bucket, imds, aws_env,
        LOCAL_DIR_OVERRIDE=str(tmp_path / "local"), POWEROFF="0", POLL_SECONDS="0.2",
        REFRESH_SECONDS="1",
    )  # fmt: skip
    out, state = tmp_path / "out", tmp_path / "run"
    out.mkdir()
    fake_tools(tmp_path / "bin", out)
    proc = run_boot(
        script,
        boot_env(tmp_path, with_tools=True),
        HOME=str(tmp_path),
        AWS_EC2_METADATA_DISABLED="true",
    )
    assert proc.returncode == 0, proc.stderr
    assert "eyJ" not in proc.stdout + proc.stderr  # the token is never printed
    try:
        wait_until((out / "master.started").exists, "condor_master to start")
        config = (tmp_path / "etc" / "worker.config").read_text()
        assert f"MASTER_NAME = {INSTANCE_ID}" in config
        assert "@ANNEX_INSTANCE_ID@" not in config
        assert f"LOCAL_DIR = {tmp_path / 'local'}" in config
        assert f"include : {tmp_path / 'local'}/lease.config" in config
        assert "TCP_FORWARDING_HOST" not in config  # not asked for
        # Named after its VPC, as the seed names its own: private addresses within it.
        assert f"PRIVATE_NETWORK_NAME = {VPC_ID}" in config.splitlines()
        assert (out / "master.started").read_text().split()[0] == str(
            tmp_path / "etc" / "worker.config"
        )
        token = tmp_path / "local" / "tokens.d" / "annex"
        assert token.read_text() == "eyJ-first"
        assert token.stat().st_mode & 0o777 == 0o600
        # The worker-local key and its condor@ token (for condor_drain on the worker).
        local = tmp_path / "local" / "tokens.d" / "local"
        assert local.read_text().split() == [
            "local-token",
            "-identity",
            "condor@name-of-UID_DOMAIN",
            "-key",
            "WORKER",
        ]
        key = tmp_path / "local" / "passwords.d" / "WORKER"
        assert len(key.read_text()) == 96  # 48 random bytes in hex
        assert local.stat().st_mode & 0o777 == key.stat().st_mode & 0o777 == 0o600
        assert "SEC_USE_FAMILY_SESSION = True" in config  # one worker per instance
        assert "SEC_USE_FAMILY_SESSION = False" not in config  # only SHARED_HOST=1
        assert FakeImds.unauthorised_gets == 0  # every GET carried an IMDSv2 token
        # The metadata block came first, before the instance id was read or S3 asked.
        said = proc.stderr
        assert said.index("metadata service blocked") < said.index(f"instance {INSTANCE_ID}")
        firewall = (out / "firewall").read_text()
        assert "iptables -w -A CONDOR-ANNEX-IMDS -m owner --uid-owner 0 -j RETURN" in firewall
        assert "iptables -w -C OUTPUT -d 169.254.169.254/32 -j CONDOR-ANNEX-IMDS" in firewall
        assert "ip6tables -w -C OUTPUT -d fd00:ec2::254/128 -j CONDOR-ANNEX-IMDS" in firewall
        # Each slot runs jobs as a user of its own, made at boot.
        lines = config.splitlines()
        assert {"SLOT1_USER = condor-slot1", "SLOT2_USER = condor-slot2"} <= set(lines)
        assert {"SLOT1_1_USER = condor-slot1", "SLOT1_2_USER = condor-slot2"} <= set(lines)
        assert "DEDICATED_EXECUTE_ACCOUNT_REGEXP = condor-slot[0-9]+" in lines
        added = (out / "useradd").read_text().splitlines()
        assert [line.split()[-1] for line in added] == ["condor-slot1", "condor-slot2"]

        # A renewal: new lease and token in S3 -> installed, master reconfigured (HUP).
        record.lease_end += 3600
        upload_lease(s3, objects_allowed.bucket, prefix("boot"), bundle(record, token="eyJ-second"))
        wait_until(lambda: token.read_text() == "eyJ-second", "the renewed token")
        wait_until((out / "master.hup").exists, "the master's reconfig")
        lease = (tmp_path / "local" / "lease.config").read_text()
        assert lease == lease_config(record.lease_end)

        # A spot interruption notice: the worker is drained gracefully.
        FakeImds.spot_notice = True
        wait_until((out / "drain").exists, "condor_drain")
        assert (out / "drain").read_text().startswith("-graceful")

        # The master leaves (idle or lease end): the supervisor ends too (no poweroff here).
        (out / "master.stop").touch()
        pid = int((state / "supervisor.pid").read_text())
        wait_until(lambda: not _alive(pid), "the supervisor to exit")
        assert "not powering off" in (state / "supervisor.log").read_text()
    finally:
        (out / "master.stop").touch()
        for name in ("supervisor.pid", "master.pid"):
            if (state / name).exists():
                _stop(int((state / name).read_text()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of ours counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def _stop(pid: int) -> None:
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)


def test_boot_script_fails_clearly_without_its_objects(
    session: Any, objects_allowed: SetupRecord, imds: str, aws_env: str, tmp_path: Path
) -> None:
    script = boot_copy(tmp_path, "missing", objects_allowed.bucket, imds, aws_env)
    assert "cannot fetch s3://" in failed_boot(script, tmp_path)


def failed_boot(script: Path, tmp_path: Path) -> str:
    """Run the boot script with HTCondor's stand-ins; it must fail before HTCondor
    starts. Returns what it said."""
    out = tmp_path / "out"
    out.mkdir()
    fake_tools(tmp_path / "bin", out)
    proc = run_boot(script, boot_env(tmp_path, with_tools=True))
    assert proc.returncode == 1
    assert not (out / "master.started").exists()
    return proc.stderr


def test_boot_script_refuses_a_lease_config_that_says_more_than_the_lease(
    session: Any, objects_allowed: SetupRecord, imds: str, aws_env: str, tmp_path: Path
) -> None:
    """HTCondor includes lease.config as configuration: a line more would run as the
    worker's own config (root on it), so the worker checks it before using it."""
    s3 = session.client("s3")
    upload_bundle(s3, objects_allowed.bucket, prefix("leasy"), bundle(annex("leasy", 1)))
    forged = "AnnexLeaseEnd = 1900000000\nSTARTD_CRON_JOBLIST = evil\n"
    put_piece(s3, objects_allowed.bucket, object_key(prefix("leasy"), LEASE_CONFIG), forged)
    script = boot_copy(
        tmp_path, "leasy", objects_allowed.bucket, imds, aws_env,
        LOCAL_DIR_OVERRIDE=str(tmp_path / "local"),
    )  # fmt: skip
    said = failed_boot(script, tmp_path)
    assert "lease.config is not one AnnexLeaseEnd line; refusing it" in said
    assert not (tmp_path / "local" / "lease.config").exists()


def test_boot_script_checks_for_htcondor_before_fetching_anything(
    session: Any, objects_allowed: SetupRecord, imds: str, aws_env: str, tmp_path: Path
) -> None:
    upload_bundle(
        session.client("s3"), objects_allowed.bucket, prefix("bare"), bundle(annex("bare", 1))
    )
    script = boot_copy(
        tmp_path, "bare", objects_allowed.bucket, imds, aws_env,
        LOCAL_DIR_OVERRIDE=str(tmp_path / "local"),
    )  # fmt: skip
    env = boot_env(tmp_path, with_tools=False)  # no HTCondor on PATH
    proc = run_boot(script, env)
    assert proc.returncode == 1
    assert "HTCondor is not installed on the image" in proc.stderr
    assert not (tmp_path / "local").exists()  # the token was never fetched


def test_rendering_quotes_values_and_fits_user_data() -> None:
    text = boot_script(
        "a-b", prefix("a-b"), "bucket", "eu-west-1", tcp_forwarding_host="public-ipv4"
    )
    assert "ANNEX_NAME=a-b\n" in text
    assert f"ANNEX_PREFIX=annexes/{POOL}/a-b/\n" in text
    assert "ANNEX_TCP_FORWARDING_HOST=public-ipv4 " in text
    assert "{{" not in text.split("set -eu", 1)[1]
    assert len(worker_user_data(text)) < USER_DATA_LIMIT  # gzip-compressed, as sent
    hostile = boot_script("x", prefix("x"), "b; rm -rf /", "us-east-1")
    assert "ANNEX_BUCKET='b; rm -rf /'" in hostile
    subprocess.run(["bash", "-n"], input=text, text=True, check=True)


def test_no_test_seam_ships_in_the_user_data() -> None:
    """Nothing on an instance can redirect the metadata service or turn the block off:
    the script reads no ANNEX_* variable and no redirect file, and talks to the real
    metadata address (issue 9, Low)."""
    text = boot_script("a-b", prefix("a-b"), "bucket", "eu-west-1")
    assert "imds-url" not in text
    assert "${ANNEX_" not in text  # no setting from the environment
    assert "IMDS=http://169.254.169.254\n" in text
    assert text.count("block_metadata_service condor") == 1


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_boot_script_is_shellcheck_clean(tmp_path: Path) -> None:
    # As rendered: the template's {{...}} placeholders are not shell (SC1083).
    path = tmp_path / "worker-boot.sh"
    path.write_text(
        boot_script("a-b", prefix("a-b"), "bucket", "eu-west-1", tcp_forwarding_host="public-ipv4")
    )
    subprocess.run(["shellcheck", str(path)], check=True)


def test_price_table_says_its_age_and_prices_usage() -> None:
    table = price_table()
    assert table.as_of == "2026-11"
    assert table.prices["m4.large"] > 0
    price = table.prices["m7i.large"]
    usage = [
        InstanceUsage("m7i.large", started_at=0.0, ended_at=3600.0),  # 1 h
        InstanceUsage("m7i.large", started_at=1800.0),  # still running: 0.5 h at now
        InstanceUsage("x9.mystery", started_at=0.0),
        InstanceUsage("m7i.large", started_at=None),  # never started
    ]
    estimate = estimated_cost(usage, now=3600.0)
    assert estimate.dollars == pytest.approx(1.5 * price)
    assert estimate.unpriced_types == ["x9.mystery"]
    assert "as of 2026-11" in estimate.line()
