"""A network namespace of the test's own in which the IMDSv2 stand-in (tests/aws/imds.py)
answers at the metadata service's real addresses, 169.254.169.254 and fd00:ec2::254.

Code under test then needs no redirect of its own, and its firewall rules are real
iptables/nftables rules, in that namespace only: nothing outside it changes, and no
packet leaves it (the addresses sit on its own loopback interface). Import
`metadata_namespace` (as `netns`) or `bare_namespace` (as `bare_netns`, no metadata
service) into a test module to use them. Needs root, `ip`,
iptables and nftables (scripts/bootstrap --test installs them).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from .imds import READY, REAL_IMDS_V4, REAL_IMDS_V6

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534  # an ordinary user: no firewall rule of ours lets it through
IMDS_V4_URL = f"http://{REAL_IMDS_V4}"
IMDS_V6_URL = f"http://[{REAL_IMDS_V6}]"


@dataclass(frozen=True)
class Namespace:
    name: str

    def command(self, argv: Sequence[str], uid: int | None = None) -> list[str]:
        """argv inside the namespace; as `uid` (its own group, no others) when given."""
        prefix = ["ip", "netns", "exec", self.name]
        if uid is not None:
            prefix += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        return [*prefix, *argv]

    def run(
        self,
        argv: Sequence[str],
        uid: int | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(argv, uid),
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=timeout,
            check=False,
        )

    def token_as(self, uid: int, url: str = IMDS_V4_URL) -> subprocess.CompletedProcess[str]:
        """An IMDSv2 session token request, as `uid` (root is 0)."""
        return self.run(
            [
                "curl", "-sf", "--max-time", "3", "-X", "PUT",
                "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", f"{url}/latest/api/token",
            ],
            uid=uid,
        )  # fmt: skip


def require_namespace_tools() -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    missing = [t for t in ("ip", "setpriv", "curl", "iptables", "nft") if not shutil.which(t)]
    assert not missing, f"missing {missing}: run scripts/bootstrap --test"


@contextlib.contextmanager
def namespace(serve: bool) -> Iterator[Namespace]:
    """A fresh namespace with its loopback up; with the stand-in at the metadata addresses
    when `serve`, else with no metadata service at all (as off a cloud instance)."""
    require_namespace_tools()
    ns = Namespace(f"condor-annex-test-{secrets.token_hex(4)}")
    subprocess.run(["ip", "netns", "add", ns.name], check=True)
    server = None
    try:
        subprocess.run(["ip", "-n", ns.name, "link", "set", "lo", "up"], check=True)
        if not serve:
            yield ns
            return
        for argv in (
            ["addr", "add", f"{REAL_IMDS_V4}/32", "dev", "lo"],
            ["addr", "add", f"{REAL_IMDS_V6}/128", "dev", "lo", "nodad"],
        ):
            subprocess.run(["ip", "-n", ns.name, *argv], check=True)
        server = subprocess.Popen(
            ns.command([sys.executable, "-m", "tests.aws.imds"]),
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        assert server.stdout.readline().strip() == READY
        yield ns
    finally:
        if server is not None:
            server.kill()
            server.wait(timeout=10)
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(["ip", "netns", "delete", ns.name], check=True)


@pytest.fixture(name="netns")
def metadata_namespace() -> Iterator[Namespace]:
    with namespace(serve=True) as ns:
        yield ns


@pytest.fixture(name="bare_netns")
def bare_namespace() -> Iterator[Namespace]:
    with namespace(serve=False) as ns:
        yield ns
