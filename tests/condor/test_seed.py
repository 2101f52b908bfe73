"""`annex seed configure`: idempotent, keeps the signing key, and a pool it configured
accepts annexes that run jobs (real daemons). Its start-up hook sets
TCP_FORWARDING_HOST from IMDSv2, and without a metadata service leaves it unset.

The hook runs as at boot, so it also puts the metadata block in place (real firewall
rules): every run of `annex seed configure` here is inside a network namespace of the
test's own (tests/aws/netns.py), with the IMDSv2 stand-in at the real address or with
no metadata service at all."""

from __future__ import annotations

import shutil
import stat
import subprocess
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
from tests.aws.imds import PUBLIC_IPV4, VPC_ID
from tests.aws.netns import (  # noqa: F401 - the netns and bare_netns fixtures
    Namespace,
    bare_namespace,
    metadata_namespace,
)
from tests.commands import BIN, run_command
from tests.condor.jobs import submit, wait_done, wait_slots

from condor_annex import Annexes
from condor_annex.errors import UsageError
from condor_annex.seed import FORWARDING_FILE, ROLE_FILE, SIGNING_KEY, SYSTEMD_DROP_IN
from condor_annex.settings import load_settings


def configure(
    layout_args: list[str], ns: Namespace | None = None
) -> subprocess.CompletedProcess[str]:
    """`annex seed configure`, inside the namespace when given (where its hook runs)."""
    if ns is None:
        return run_command("annex", "seed", "configure", *layout_args)
    return ns.run([str(BIN / "annex"), "seed", "configure", *layout_args])


def test_configure_is_idempotent_and_installs_the_hook(
    tmp_path: Path, bare_netns: Namespace, netns: Namespace
) -> None:
    etc = tmp_path / "etc"
    args = [
        "--config-dir", str(etc / "config.d"),
        "--password-dir", str(etc / "passwords.d"),
        "--token-dir", str(etc / "tokens.d"),
        "--hook-dir", str(tmp_path / "libexec"),
        "--systemd-dir", str(tmp_path / "systemd"),
    ]  # fmt: skip
    first = configure(args, bare_netns)
    assert first.returncode == 0, first.stderr
    assert "TCP_FORWARDING_HOST left unset" in first.stdout
    key = etc / "passwords.d" / SIGNING_KEY
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((etc / "passwords.d").stat().st_mode) == 0o700
    role = (etc / "config.d" / ROLE_FILE).read_text()
    assert "ALLOW_ADVERTISE_STARTD = condor@$(UID_DOMAIN) *@annex." in role
    assert not (etc / "config.d" / FORWARDING_FILE).exists()
    drop_in = (tmp_path / "systemd" / SYSTEMD_DROP_IN).read_text()
    assert f"ExecStartPre={tmp_path / 'libexec'}/" in drop_in
    secret = key.read_bytes()

    again = configure(args, bare_netns)
    assert again.returncode == 0, again.stderr
    assert "already configured; nothing changed" in again.stdout
    assert key.read_bytes() == secret  # tokens already issued stay valid

    # On an instance (the metadata stand-in): the public address, at every start.
    booted = configure(args, netns)
    assert f"TCP_FORWARDING_HOST = {PUBLIC_IPV4}" in booted.stdout
    forwarding = (etc / "config.d" / FORWARDING_FILE).read_text()
    assert f"TCP_FORWARDING_HOST = {PUBLIC_IPV4}" in forwarding.splitlines()
    # Workers in the seed's VPC name their network the same and keep private addresses.
    assert f"PRIVATE_NETWORK_NAME = {VPC_ID}" in forwarding.splitlines()


def test_bad_target_is_one_line_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = configure(
        [
            "--config-dir", str(blocker / "x"), "--password-dir", str(tmp_path / "p"),
            "--token-dir", str(tmp_path / "t"), "--hook-dir", str(tmp_path / "h"),
        ]
    )  # fmt: skip
    assert "cannot write" in proc.stderr
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_pool_configured_by_seed_configure_runs_annex_jobs(
    annexes: Annexes, jobdir: Path, bare_netns: Namespace
) -> None:
    layout = annexes.pool.seed_layout
    key = layout.signing_key.read_bytes()
    applied = configure(
        [
            "--config-dir", str(layout.config_dir),
            "--password-dir", str(layout.password_dir),
            "--token-dir", str(layout.token_dir),
            "--hook-dir", str(layout.hook_dir),
            "--annex-domain", layout.annex_domain,
        ],
        bare_netns,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    assert "already configured; nothing changed" in applied.stdout  # the pool has the role
    assert layout.signing_key.read_bytes() == key
    reconfig = subprocess.run(
        annexes.tool(["condor_reconfig"], cwd=Path("/")), capture_output=True, check=False
    )
    assert reconfig.returncode == 0, reconfig.stderr

    record = annexes.create(annexes.request("seeded", 2, lease_seconds=600, idle_seconds=300))
    wait_slots(annexes, "seeded", 2)
    done = wait_done(annexes, submit(annexes, jobdir, seconds=1, count=3))
    assert [ad["ExitCode"] for ad in done] == [0, 0, 0]
    assert {str(ad["LastRemoteHost"]).split("@")[1] for ad in done} <= {
        w.id for w in record.workers
    }


def test_hook_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:  # scripts/bootstrap --test installs it
        pytest.skip("shellcheck is not installed")
    hook = resources.files("condor_annex").joinpath("templates", "seed-forwarding.sh")
    proc = subprocess.run([shellcheck, str(hook)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_the_system_pool_of_a_seed_grows_annexes(
    annexes: Annexes, jobdir: Path, workdir: Path
) -> None:
    """ANNEX_DEFAULT_POOL = system: the tool uses a seed it does not run (here the local
    pool's daemons, reached only through their config, as a seed's own HTCondor would be)."""
    settings = replace(
        load_settings(), pool="system", pool_config=annexes.pool.config, home=workdir / "seed"
    )
    seed = Annexes(settings=settings)
    assert seed.pool.uid_domain == annexes.pool.uid_domain  # read from the seed's config

    record = seed.create(seed.request("sys", 1, lease_seconds=600, idle_seconds=300))
    wait_slots(seed, "sys", 1)
    (done,) = wait_done(seed, submit(seed, jobdir, seconds=1))
    assert done["ExitCode"] == 0
    assert str(done["LastRemoteHost"]).split("@")[1] == record.workers[0].id

    assert seed.off("sys").live_workers == []
    for action in (seed.pool_down, seed.pool_up):
        with pytest.raises(UsageError, match="HTCondor's own"):
            action()
    assert annexes.pool.is_up()  # the seed's daemons were never the tool's to stop


def test_a_system_pool_that_is_not_a_seed_is_refused(workdir: Path) -> None:
    plain = workdir / "plain.config"
    plain.write_text("include : /etc/condor/condor_config\nSEC_PASSWORD_DIRECTORY = /nonexistent\n")
    settings = replace(load_settings(), pool="system", pool_config=plain, home=workdir / "h")
    with pytest.raises(UsageError, match="not a seed"):
        Annexes(settings=settings).pool.require_up()
