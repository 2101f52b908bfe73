"""The classic -aws-*-url endpoint overrides and `-setup FROM INSTANCE` credentials.

Endpoints: with AWS_ENDPOINT_URL unset, only the overridden service's clients reach
moto. FROM INSTANCE: boto3's own instance metadata provider against an IMDSv2
stand-in serving a role's credentials; keys in the environment are not used instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest

from condor_annex.errors import UsageError
from condor_annex.providers.aws.session import aws_session

from .imds import IMDS_TOKEN, FakeImds

ROLE = "condor-annex-seed"
KEY_ID = "ASIAFROMTHEINSTANCE0"


class RoleImds(FakeImds):
    """The IMDSv2 stand-in, also serving an instance role's credentials."""

    def do_GET(self) -> None:
        base = "/latest/meta-data/iam/security-credentials/"
        if self.headers.get("X-aws-ec2-metadata-token") == IMDS_TOKEN and self.path == base:
            self._reply(200, ROLE)
        elif (
            self.headers.get("X-aws-ec2-metadata-token") == IMDS_TOKEN and self.path == base + ROLE
        ):
            self._reply(
                200,
                json.dumps(
                    {
                        "Code": "Success",
                        "Type": "AWS-HMAC",
                        "AccessKeyId": KEY_ID,
                        "SecretAccessKey": "from-the-instance",
                        "Token": "session-token",
                        "Expiration": "2099-01-01T00:00:00Z",
                        "LastUpdated": "2026-01-01T00:00:00Z",
                    }
                ),
            )
        else:
            super().do_GET()


@pytest.fixture
def role_imds(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RoleImds)
    Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)
    yield url
    server.shutdown()
    server.server_close()


def test_endpoint_overrides_reach_each_service(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    session = aws_session("us-east-1", endpoints={"ec2": aws_env, "s3": aws_env})
    ec2 = session.client("ec2")
    assert ec2.meta.endpoint_url == aws_env
    assert ec2.describe_regions()["Regions"]  # moto answers
    assert session.client("s3").meta.endpoint_url == aws_env
    assert "amazonaws.com" in session.client("lambda").meta.endpoint_url  # not overridden
    assert session.client("ec2", endpoint_url="https://x.example").meta.endpoint_url == (
        "https://x.example"  # an explicit endpoint still wins
    )


@pytest.mark.parametrize(
    ("endpoints", "needle"),
    [
        ({"ec2": "http://ec2.example.org"}, "must use https (plain http only to this machine)"),
        ({"s3": "ftp://127.0.0.1"}, "is not an endpoint URL"),
        ({"events": "https://"}, "is not an endpoint URL"),
        ({"sqs": "https://sqs.example.org"}, "no endpoint override for 'sqs'"),
    ],
)
def test_bad_endpoints_are_one_line(aws_env: str, endpoints: dict[str, str], needle: str) -> None:
    with pytest.raises(UsageError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        aws_session("us-east-1", endpoints=endpoints)


def test_from_instance_takes_the_roles_credentials_only(aws_env: str, role_imds: str) -> None:
    session: Any = aws_session("us-east-1", from_instance=True)
    credentials = session.get_credentials()
    assert credentials.access_key == KEY_ID  # not AWS_ACCESS_KEY_ID=testing from the env
    assert credentials.token == "session-token"
    assert session.client("sts").get_caller_identity()["Account"]  # moto accepts them


def test_from_instance_without_a_role_is_one_line(aws_env: str) -> None:
    # AWS_EC2_METADATA_DISABLED=true (the test environment): no metadata service here.
    with pytest.raises(UsageError) as caught:
        aws_session("us-east-1", from_instance=True)
    assert "no instance role credentials" in str(caught.value)
