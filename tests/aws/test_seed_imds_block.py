"""The seed's start-up hook keeps every local user but root and condor away from the
instance metadata service (issue 9, High 1), with real firewall rules in a network
namespace of the test's own where the IMDSv2 stand-in answers at the real addresses.

`annex seed configure` runs the hook as at boot. Checked: before it, an ordinary user can
take a metadata session token (so the stand-in would hand them the seed's role); after it
they cannot, over IPv4 or IPv6, while root still can and the hook still reads the public
address; nftables is used when iptables cannot be; and with neither the command fails
(exit 2, one line) and writes no forwarding config, as the boot-time hook stops
condor.service from starting.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.commands import BIN

from condor_annex.seed import FORWARDING_FILE

from .imds import PUBLIC_IPV4
from .netns import (  # noqa: F401 - the netns fixture
    IMDS_V6_URL,
    NOBODY,
    Namespace,
    metadata_namespace,
)


def configure(ns: Namespace, tmp_path: Path, fake_bin: Path | None = None):  # type: ignore[no-untyped-def]
    etc = tmp_path / "etc"
    argv = [
        str(BIN / "annex"), "seed", "configure",
        "--config-dir", str(etc / "config.d"),
        "--password-dir", str(etc / "passwords.d"),
        "--token-dir", str(etc / "tokens.d"),
        "--hook-dir", str(tmp_path / "libexec"),
        "--systemd-dir", str(tmp_path / "systemd"),
        "--annex-domain", "annex.test.example",
    ]  # fmt: skip
    env = {"PATH": f"{fake_bin}:{os.environ['PATH']}"} if fake_bin else None
    return ns.run(argv, env=env)


def failing_tools(directory: Path, *names: str) -> Path:
    """Stand-ins for firewall tools that cannot work here (no kernel support, say)."""
    directory.mkdir()
    for name in names:
        tool = directory / name
        tool.write_text('#!/bin/sh\necho "$0: cannot initialise" >&2\nexit 4\n')
        tool.chmod(0o755)
    return directory


def test_configured_seed_refuses_the_metadata_service_to_users_but_not_root(
    netns: Namespace, tmp_path: Path
) -> None:
    before = netns.token_as(NOBODY)
    assert before.returncode == 0 and before.stdout  # the open door this closes

    done = configure(netns, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(iptables)" in done.stdout
    # The hook itself still reads the metadata (as root), from the real address.
    forwarding = (tmp_path / "etc" / "config.d" / FORWARDING_FILE).read_text()
    assert f"TCP_FORWARDING_HOST = {PUBLIC_IPV4}" in forwarding.splitlines()

    assert netns.token_as(NOBODY).returncode != 0
    assert netns.token_as(NOBODY, IMDS_V6_URL).returncode != 0
    root = netns.token_as(0)
    assert root.returncode == 0 and root.stdout
    assert netns.token_as(0, IMDS_V6_URL).returncode == 0

    # Every boot runs it again: the rules are rebuilt, never stacked.
    again = configure(netns, tmp_path)
    assert again.returncode == 0, again.stderr
    rules = netns.run(["iptables", "-S", "OUTPUT"]).stdout
    assert rules.count("-j CONDOR-ANNEX-IMDS") == 1
    assert netns.token_as(NOBODY).returncode != 0


def test_nftables_when_iptables_cannot_be_used(netns: Namespace, tmp_path: Path) -> None:
    fake = failing_tools(tmp_path / "bin", "iptables", "ip6tables")
    done = configure(netns, tmp_path, fake_bin=fake)
    assert done.returncode == 0, done.stderr
    assert "(nftables)" in done.stdout
    table = netns.run(["nft", "list", "table", "inet", "condor_annex_imds"])
    assert table.returncode == 0, table.stderr
    assert netns.token_as(NOBODY).returncode != 0
    assert netns.token_as(NOBODY, IMDS_V6_URL).returncode != 0
    assert netns.token_as(0).returncode == 0


def test_without_any_firewall_the_seed_refuses_to_go_on(netns: Namespace, tmp_path: Path) -> None:
    fake = failing_tools(tmp_path / "bin", "iptables", "ip6tables", "nft")
    done = configure(netns, tmp_path, fake_bin=fake)
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "metadata service" in done.stderr
    assert not (tmp_path / "etc" / "config.d" / FORWARDING_FILE).exists()
    # The hook systemd runs before condor.service fails the same way, so HTCondor stays down.
    hook = next((tmp_path / "libexec").iterdir())
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    boot = subprocess.run(
        netns.command(["bash", str(hook), str(tmp_path / "fwd.config")]),
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert boot.returncode != 0
    assert "not starting HTCondor" in boot.stdout
