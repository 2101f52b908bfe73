"""The worker boot script's metadata block, for real (issue 9, Medium 7): run in a network
namespace of the test's own where the IMDSv2 stand-in answers at the real addresses, with
real iptables/nftables rules in that namespace only.

With a working firewall the block is in place before the script asks the metadata
service anything: an ordinary user (a job's slot user) cannot take a session token over
IPv4 or IPv6, root still can. Without one (iptables, ip6tables and nft all failing) the
script stops at once: it reads nothing, fetches no token and starts no HTCondor. S3 is
out of the namespace's reach, so a boot that gets past the block ends at the fetch.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from condor_annex.providers.aws.annexes.bootscript import boot_script

from .annexkeys import POOL, prefix  # noqa: F401
from .bootvariant import boot_variant
from .imds import INSTANCE_ID, REAL_IMDS_V4
from .netns import (  # noqa: F401 - the netns fixture
    IMDS_V6_URL,
    NOBODY,
    Namespace,
    metadata_namespace,
)
from .test_provider_bootscript import fake_tools
from .test_seed_imds_block import failing_tools


def boot(ns: Namespace, tmp_path: Path, extra_bin: Path | None = None):  # type: ignore[no-untyped-def]
    """The user data as an instance runs it, only its paths under tmp_path and S3 at an
    address where nothing answers; the metadata service is the real address's."""
    script = tmp_path / "user-data.sh"
    text = boot_variant(
        boot_script("blocked", prefix("blocked"), "bucket", "us-east-1"),
        S3_ENDPOINT="http://127.0.0.1:9",
        CONFIG_DIR=str(tmp_path / "etc"),
        STATE_DIR=str(tmp_path / "run"),
        LOCAL_DIR_OVERRIDE=str(tmp_path / "local"),
        POWEROFF="0",
    )
    assert f"IMDS=http://{REAL_IMDS_V4}\n" in text
    script.write_text(text)
    out = tmp_path / "out"
    out.mkdir()
    fake_tools(tmp_path / "condor-bin", out)
    for name in ("iptables", "ip6tables", "nft"):  # the real ones, unless extra_bin says
        (tmp_path / "condor-bin" / name).unlink()
    path = [str(p) for p in (extra_bin, tmp_path / "condor-bin") if p]
    env = {
        "PATH": ":".join([*path, str(Path(sys.executable).parent), os.environ["PATH"]]),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return ns.run(["bash", str(script)], env=env), out


def test_boot_blocks_the_metadata_service_before_anything_else(
    netns: Namespace, tmp_path: Path
) -> None:
    assert netns.token_as(NOBODY).returncode == 0  # open before the boot
    proc, out = boot(netns, tmp_path)
    # Past the block: the instance id came from the real address, then S3 was unreachable.
    assert f"instance {INSTANCE_ID} of annex blocked" in proc.stderr
    assert "cannot fetch s3://" in proc.stderr
    assert proc.returncode == 1
    assert "(iptables)" in proc.stderr

    assert netns.token_as(NOBODY).returncode != 0
    assert netns.token_as(NOBODY, IMDS_V6_URL).returncode != 0
    assert netns.token_as(0).returncode == 0
    assert not (out / "master.started").exists()


def test_boot_refuses_to_go_on_without_a_working_firewall(netns: Namespace, tmp_path: Path) -> None:
    broken = failing_tools(tmp_path / "broken", "iptables", "ip6tables", "nft")
    proc, out = boot(netns, tmp_path, extra_bin=broken)
    assert proc.returncode == 1
    assert "not starting HTCondor" in proc.stderr
    assert "instance " not in proc.stderr  # the metadata service was never asked
    assert not (tmp_path / "local").exists()  # nothing fetched, no token on disk
    assert not (out / "master.started").exists()
    assert netns.token_as(NOBODY).returncode == 0  # no rule was put in place


def test_nftables_is_the_fallback_at_boot(netns: Namespace, tmp_path: Path) -> None:
    broken = failing_tools(tmp_path / "broken", "iptables", "ip6tables")
    proc, _ = boot(netns, tmp_path, extra_bin=broken)
    assert "(nftables)" in proc.stderr, proc.stderr
    assert netns.token_as(NOBODY).returncode != 0
    assert netns.token_as(NOBODY, IMDS_V6_URL).returncode != 0
    assert netns.token_as(0).returncode == 0
