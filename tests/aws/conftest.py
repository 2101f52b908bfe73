"""One moto server per test session, reset before every test; boto3 reaches it only
through the standard AWS_ENDPOINT_URL variable, exactly as a user would point the tool
at another endpoint. Credentials are dummies, and the host's AWS config is hidden.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from condor_annex.providers.aws import SetupRecord, aws_session, setup

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty-aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request) as response:  # noqa: S310 - the local moto server
        assert response.status == 200
    return moto_url


@pytest.fixture
def said() -> list[str]:
    return []


@pytest.fixture
def session(aws_env: str) -> Any:
    return aws_session(REGION)


@pytest.fixture
def record(session: Any, said: list[str]) -> SetupRecord:
    return setup(session, said.append, poll=0.01)


def lift_tls_policy(session: Any, bucket: str) -> None:
    """Let tests reach objects in the configuration bucket over moto's plain HTTP.

    moto ignores the Condition of a bucket policy's Deny statement, so the TLS-only
    policy (`aws:SecureTransport = false` -> Deny) denies EVERY object call there; on
    real AWS it denies only non-TLS calls, and boto3 always uses TLS. Tests that read or
    write objects after setup remove the policy first (check-setup then reports it).
    """
    session.client("s3").delete_bucket_policy(Bucket=bucket)


@pytest.fixture
def objects_allowed(session: Any, record: SetupRecord) -> SetupRecord:
    lift_tls_policy(session, record.bucket)
    return record


# The record of every AWS operation these tests send, by principal (test_policies.py
# judges it); imported here so its fixtures and hooks apply to every AWS test.
from .policyrecord import (  # noqa: E402
    policy_recording,  # noqa: F401
    policy_test,  # noqa: F401
    pytest_collection_modifyitems,  # noqa: F401
    pytest_runtest_logreport,  # noqa: F401
    pytest_sessionfinish,  # noqa: F401
)
