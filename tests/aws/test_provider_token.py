"""Idempotent launches: the same request always sends the same ClientToken.

moto ignores ClientToken (the same token twice launches twice; see moto-facts.md), so
these tests put botocore's Stubber on the EC2 client and read the token each request
carries; EC2 itself is what makes a repeated token launch nothing new. IAM and S3 still
go to moto's server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from condor_annex.errors import AnnexError
from condor_annex.providers.aws import AwsProvider, SetupRecord
from condor_annex.providers.aws.annexes.workeridentity import role_name

from .annexkeys import POOL, prefix
from .test_provider import annex, bundle

IAM_NOT_READY = (
    "Value (arn:aws:iam::123456789012:instance-profile/condor-annex/x) for parameter "
    "iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN"
)
RUN_REPLY = {
    "ReservationId": "r-1",
    "Instances": [{"InstanceId": "i-0abc", "PrivateIpAddress": "10.0.0.9"}],
}


class Stubbed:
    def __init__(self, session: Any, record: SetupRecord, spot: bool = False) -> None:
        self.sleeps: list[float] = []
        self.ec2 = session.client("ec2")
        self.stubber = Stubber(self.ec2)
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.ec2.meta.events.register("before-parameter-build.ec2.*", self._sent)
        self.provider = AwsProvider(
            session,
            record,
            "m7i.large",
            "ami-12345678",
            spot=spot,
            instance_types=["m5.large", "c5.large"] if spot else None,
            pool=POOL,
            sleep=self.sleeps.append,
        )
        self.provider._clients["ec2"] = self.ec2

    def _sent(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.sent.setdefault(model.name, []).append(dict(params))

    def expect_clean_up(self) -> None:
        """After a failed launch the provider looks for anything it may have launched."""
        self.stubber.add_response("describe_fleets", {"Fleets": []})
        self.stubber.add_response("describe_instances", {"Reservations": []})

    def tokens(self, operation: str) -> list[str]:
        return [p["ClientToken"] for p in self.sent.get(operation, [])]


@pytest.fixture
def stubbed(session: Any, objects_allowed: SetupRecord) -> Iterator[Stubbed]:
    s = Stubbed(session, objects_allowed)
    with s.stubber:
        yield s
    s.stubber.assert_no_pending_responses()


def test_a_retried_create_sends_the_same_token(stubbed: Stubbed) -> None:
    record = annex("same", 5)
    stubbed.stubber.add_response("run_instances", RUN_REPLY)
    stubbed.stubber.add_response("run_instances", RUN_REPLY)
    first = stubbed.provider.run_instances(record, bundle(record), 5)
    again = stubbed.provider.run_instances(record, bundle(record), 5)  # e.g. after a timeout
    a, b = stubbed.tokens("RunInstances")
    assert a == b
    assert 0 < len(a) <= 64
    assert [w.id for w in first] == [w.id for w in again]


def test_another_request_sends_another_token(stubbed: Stubbed) -> None:
    one, two = annex("one", 5), annex("one", 5)
    two.created_at += 1  # a new create of the same name is a new request
    for record in (one, two):
        stubbed.stubber.add_response("run_instances", RUN_REPLY)
        stubbed.provider.run_instances(record, bundle(record), 5)
    stubbed.stubber.add_response("run_instances", RUN_REPLY)
    stubbed.provider.run_instances(one, bundle(one), 6)
    assert len(set(stubbed.tokens("RunInstances"))) == 3


def test_iam_propagation_is_retried_with_the_same_token(stubbed: Stubbed) -> None:
    record = annex("fresh", 3)
    stubbed.stubber.add_client_error("run_instances", "InvalidParameterValue", IAM_NOT_READY)
    stubbed.stubber.add_client_error("run_instances", "InvalidParameterValue", IAM_NOT_READY)
    stubbed.stubber.add_response("run_instances", RUN_REPLY)
    workers = stubbed.provider.run_instances(record, bundle(record), 3)
    assert [w.id for w in workers] == ["i-0abc"]
    tokens = stubbed.tokens("RunInstances")
    assert len(tokens) == 3
    assert len(set(tokens)) == 1
    assert stubbed.sleeps == [2.0, 4.0]


def test_iam_propagation_retries_are_bounded(stubbed: Stubbed) -> None:
    record = annex("never", 1)
    for _ in range(7):
        stubbed.stubber.add_client_error("run_instances", "InvalidParameterValue", IAM_NOT_READY)
    stubbed.expect_clean_up()
    with pytest.raises(AnnexError, match="Invalid IAM Instance Profile"):
        stubbed.provider.run_instances(record, bundle(record), 1)
    assert len(stubbed.sleeps) == 6
    assert sum(stubbed.sleeps) < 90


def test_other_errors_are_not_retried_and_leave_nothing(
    stubbed: Stubbed, session: Any, objects_allowed: SetupRecord
) -> None:
    record = annex("broke", 1)
    stubbed.stubber.add_client_error("run_instances", "InsufficientInstanceCapacity", "no capacity")
    stubbed.expect_clean_up()
    with pytest.raises(
        AnnexError, match=r"AWS refused RunInstances \(InsufficientInstanceCapacity"
    ):
        stubbed.provider.run_instances(record, bundle(record), 1)
    assert stubbed.sleeps == []
    # The annex's role and its objects (made before the launch, on moto) are gone again.
    with pytest.raises(ClientError, match="NoSuchEntity"):
        session.client("iam").get_role(RoleName=role_name("us-east-1", POOL, "broke"))
    listed = session.client("s3").list_objects_v2(
        Bucket=objects_allowed.bucket, Prefix=prefix("broke")
    )
    assert listed.get("KeyCount", 0) == 0


def test_fleet_retry_after_iam_error_uses_a_fresh_token_and_no_more(
    session: Any, objects_allowed: SetupRecord
) -> None:
    s = Stubbed(session, objects_allowed, spot=True)
    record = annex("spotty", 2)
    version = {"LaunchTemplateVersion": {"VersionNumber": 7}}
    failed = {
        "FleetId": "fleet-1",
        "Errors": [{"ErrorCode": "InvalidParameterValue", "ErrorMessage": IAM_NOT_READY}],
        "Instances": [],
    }
    launched = {"FleetId": "fleet-2", "Instances": [{"InstanceIds": ["i-1", "i-2"]}]}
    with s.stubber:
        s.stubber.add_response("create_launch_template_version", version)
        s.stubber.add_response("create_fleet", failed)
        s.stubber.add_response("create_fleet", launched)
        s.stubber.add_response("delete_launch_template_versions", {})
        workers = s.provider.run_instances(record, bundle(record), 2)
    assert [w.id for w in workers] == ["i-1", "i-2"]
    first, second = s.tokens("CreateFleet")
    assert first != second  # an instant fleet's token replays its first (failed) answer
    assert len(first) <= 64 and len(second) <= 64
    assert (
        s.sent["CreateFleet"][1]["LaunchTemplateConfigs"][0]["LaunchTemplateSpecification"][
            "Version"
        ]
        == "7"
    )


def test_fleet_that_launches_nothing_fails_loudly(
    session: Any, objects_allowed: SetupRecord
) -> None:
    s = Stubbed(session, objects_allowed, spot=True)
    record = annex("dry", 2)
    nothing = {
        "FleetId": "fleet-1",
        "Errors": [{"ErrorCode": "InsufficientInstanceCapacity", "ErrorMessage": "none left"}],
    }
    with s.stubber:
        s.stubber.add_response(
            "create_launch_template_version", {"LaunchTemplateVersion": {"VersionNumber": 2}}
        )
        s.stubber.add_response("create_fleet", nothing)
        s.stubber.add_response("delete_launch_template_versions", {})
        with pytest.raises(AnnexError, match="InsufficientInstanceCapacity"):
            s.provider.run_instances(record, bundle(record), 2)
