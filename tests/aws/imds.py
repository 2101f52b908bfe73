"""A stand-in for EC2's instance metadata service (IMDSv2 only), shared by the boot
script tests: the `imds` fixture (import `imds_server`) serves it on a free loopback
port and yields its URL.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

INSTANCE_ID = "i-0123456789abcdef0"
IMDS_TOKEN = "imds-session-token"
PUBLIC_IPV4 = "203.0.113.7"  # TEST-NET-3: documentation addresses
MAC = "0e:12:34:56:78:9a"
VPC_ID = "vpc-0123456789abcdef0"


class FakeImds(BaseHTTPRequestHandler):
    """IMDSv2 only: GETs without a session token from PUT /latest/api/token get 401."""

    spot_notice = False
    unauthorised_gets = 0

    def log_message(self, *_: Any) -> None:
        pass

    def _reply(self, code: int, body: str = "") -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def do_PUT(self) -> None:
        ok = self.path == "/latest/api/token" and self.headers.get(
            "X-aws-ec2-metadata-token-ttl-seconds"
        )
        self._reply(200, IMDS_TOKEN) if ok else self._reply(400)

    def do_GET(self) -> None:
        if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
            type(self).unauthorised_gets += 1
            self._reply(401)
        elif self.path == "/latest/meta-data/instance-id":
            self._reply(200, INSTANCE_ID)
        elif self.path == "/latest/meta-data/public-ipv4":
            self._reply(200, PUBLIC_IPV4)
        elif self.path == "/latest/meta-data/mac":
            self._reply(200, MAC)
        elif self.path == f"/latest/meta-data/network/interfaces/macs/{MAC}/vpc-id":
            self._reply(200, VPC_ID)
        elif self.path == "/latest/meta-data/spot/instance-action" and type(self).spot_notice:
            self._reply(200, json.dumps({"action": "terminate", "time": "2026-11-21T12:00:00Z"}))
        else:
            self._reply(404)


@pytest.fixture(name="imds")
def imds_server() -> Iterator[str]:
    """The stand-in on a free loopback port; yields its base URL. Import `imds_server`
    into a test module to use the fixture there (as `imds`)."""
    FakeImds.spot_notice = False
    FakeImds.unauthorised_gets = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeImds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# The instance's own addresses, where the stand-in serves inside a network namespace a
# test made (tests/aws/netns.py), so the code under test needs no redirect of its own.
REAL_IMDS_V4 = "169.254.169.254"
REAL_IMDS_V6 = "fd00:ec2::254"
READY = "imds stand-in ready"


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def serve_at_real_addresses() -> None:
    """Serve the stand-in on port 80 of both metadata addresses until killed. Run only
    inside a test's own network namespace (python -m tests.aws.imds)."""
    servers = [
        ThreadingHTTPServer((REAL_IMDS_V4, 80), FakeImds),
        _V6Server((REAL_IMDS_V6, 80), FakeImds),
    ]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(READY, flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    serve_at_real_addresses()
