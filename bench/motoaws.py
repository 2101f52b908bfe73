"""Shared by the AWS benchmarks: a private moto server, the account setup in it, annex
records and bundles, and a count of the API calls a boto3 session makes.

Not a benchmark itself. boto3 reaches moto only through the standard AWS_ENDPOINT_URL
variable with dummy credentials and an empty, private AWS config (as tests/aws/conftest.py
does), so the provider runs exactly as it would against another endpoint.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import urllib.request
import warnings
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from condor_annex.model import AnnexRecord, AnnexRequest
from condor_annex.providers.aws import SetupRecord, aws_session, setup
from condor_annex.workerconfig import WorkerBundle

POOL = "cm.example.org:9618"
TOKEN = "eyJ-not-a-real-token"  # noqa: S105 - a dummy, never a secret
LEASE_SECONDS = 3600
IDLE_SECONDS = 600
HIDDEN = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION")


def versions() -> str:
    return f"moto {version('moto')}, boto3 {version('boto3')}, botocore {version('botocore')}"


class Moto:
    """A ThreadedMotoServer on a free port, and the environment that points boto3 at it.

    Use as a context manager: the server stops and the private config goes on exit.
    """

    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.url = ""
        self.dir = Path(tempfile.mkdtemp(prefix="condor-annex-bench-aws-"))
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> Moto:
        # The server logs every request, and a traceback for each action moto does not
        # implement (the calls still get their HTTP 500; the benchmarks report those).
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        # The setup stack's bucket policy is not made by moto's CloudFormation (the
        # setup's guardrails put it afterwards); moto says so on every setup.
        logging.getLogger("moto").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message="Tried to parse AWS::S3::BucketPolicy")
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        empty = self.dir / "empty-aws-config"
        empty.write_text("")
        env = {
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        for name in (*HIDDEN, *env):
            self.saved[name] = os.environ.get(name)
        for name in HIDDEN:
            os.environ.pop(name, None)
        os.environ.update(env)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.stop()
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(self.dir, ignore_errors=True)

    def reset(self) -> None:
        """Forget every resource (moto's filters get slower with everything it holds)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request) as response:  # noqa: S310 - the local moto server
            if response.status != 200:
                raise RuntimeError(f"moto reset answered {response.status}")

    def account(self, region: str) -> tuple[Any, SetupRecord, str]:
        """A fresh session, the account setup in `region`, and an image id moto knows.

        moto applies the bucket policy's Deny without its TLS condition, so the policy is
        removed before the provider puts objects (see lift_tls_policy in tests/aws).
        """
        session = aws_session(region)
        record = setup(session, lambda _line: None, poll=0.01)
        session.client("s3").delete_bucket_policy(Bucket=record.bucket)
        image = session.client("ec2").describe_images()["Images"][0]["ImageId"]
        return session, record, image


def annex(name: str, count: int, region: str) -> tuple[AnnexRequest, AnnexRecord]:
    """A validated request and its record, as Annexes.create makes them."""
    request = AnnexRequest(name, count, LEASE_SECONDS, IDLE_SECONDS, max_count=count)
    return request, AnnexRecord.from_request(request, "aws", region)


def bundle(record: AnnexRecord) -> WorkerBundle:
    return WorkerBundle(
        annex_name=record.name,
        collector=POOL,
        uid_domain="condor-annex.local",
        annex_domain="annex.condor-annex.local",
        lease_end=record.lease_end,
        idle_seconds=record.idle_seconds,
        cpus=record.cpus,
        memory_mb=record.memory_mb,
        token=TOKEN,
    )


class Calls:
    """What a session's clients do, through botocore's own event hooks.

    `calls`: API calls by operation (one per page of a paginator); `attempts`: HTTP
    requests by operation (more than the calls when botocore retries); `errors`: the HTTP
    status of every error reply by operation. Also the time spent waiting for replies
    (`wire`: request sent until reply read) and parsing them (`parse`). Register before
    the session makes its clients: clients copy the session's hooks when made.
    """

    def __init__(self, session: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.errors: dict[str, Counter[int]] = {}
        self.wire = 0.0
        self.parse = 0.0
        self._sent = 0.0
        self._parsing = 0.0
        events = session.events
        events.register("before-parameter-build", self._call)
        events.register("before-send", self._send)
        events.register("before-parse", self._reply)
        events.register("response-received", self._parsed)

    def clear(self) -> None:
        self.calls.clear()
        self.attempts.clear()
        self.errors.clear()
        self.wire = self.parse = 0.0

    def _call(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _send(self, event_name: str, **_: Any) -> None:
        self.attempts[event_name.rsplit(".", 1)[-1]] += 1
        self._parsing = 0.0  # a reply that failed to parse never reports its end
        self._sent = time.perf_counter()

    def _reply(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        self._parsing = time.perf_counter()
        self.wire += self._parsing - self._sent
        status = int(response_dict.get("status_code", 0))
        if status >= 400:
            self.errors.setdefault(operation_model.name, Counter())[status] += 1

    def _parsed(self, **_: Any) -> None:
        if self._parsing:
            self.parse += time.perf_counter() - self._parsing
            self._parsing = 0.0
