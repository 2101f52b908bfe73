"""The lease reaper, called directly (as the CLI does, and as the Lambda handler) with
boto3 clients pointed at moto: moto cannot run Lambda code or fire schedules.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from condor_annex.providers.aws import reaper
from condor_annex.providers.aws.reaper import (
    TAG_ANNEX,
    TAG_LEASE_END,
    TAG_MANAGED,
    TAG_POOL,
    Clients,
    reap,
)

BUCKET = "condor-annex-123456789012-us-east-1"
NOW = 1_800_000_000.0


POOL = "home-0123456789"


def _tags(annex: str, lease_end: float, pool: str = POOL) -> list[dict[str, str]]:
    return [
        {"Key": TAG_MANAGED, "Value": "true"},
        {"Key": TAG_ANNEX, "Value": annex},
        {"Key": TAG_LEASE_END, "Value": str(int(lease_end))},
        {"Key": TAG_POOL, "Value": pool},
    ]


def launch(ec2: Any, annex: str, lease_end: float, count: int = 1, pool: str = POOL) -> list[str]:
    reply = ec2.run_instances(
        ImageId="ami-12345678",
        InstanceType="t3.micro",
        MinCount=count,
        MaxCount=count,
        TagSpecifications=[{"ResourceType": "instance", "Tags": _tags(annex, lease_end, pool)}],
    )
    return [i["InstanceId"] for i in reply["Instances"]]


def states(ec2: Any, ids: list[str]) -> set[str]:
    reply = ec2.describe_instances(InstanceIds=ids)
    return {i["State"]["Name"] for r in reply["Reservations"] for i in r["Instances"]}


def put_config(s3: Any, annex: str, pool: str = POOL) -> None:
    for name in ("worker.config", "token"):
        s3.put_object(Bucket=BUCKET, Key=f"annexes/{pool}/{annex}/{name}", Body=b"x")


def keys(s3: Any) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


@pytest.fixture
def clients(aws_env: str) -> Clients:
    made = Clients(boto3.client("ec2"), boto3.client("s3"))
    made.s3.create_bucket(Bucket=BUCKET)
    return made


def test_foo_expiry_never_touches_foobar(clients: Clients) -> None:
    foo = launch(clients.ec2, "foo", NOW - 60, count=3)
    foobar = launch(clients.ec2, "foobar", NOW + 3600, count=2)
    fo = launch(clients.ec2, "fo", NOW + 3600)
    for annex in ("foo", "foobar", "fo"):
        put_config(clients.s3, annex)
    report = reap(clients, NOW, bucket=BUCKET)
    assert report.expired_annexes == [f"{POOL}/foo"]
    assert sorted(report.terminated_instances) == sorted(foo)
    assert states(clients.ec2, foo) == {"terminated"}
    assert states(clients.ec2, foobar + fo) == {"running"}
    assert keys(clients.s3) == {
        f"annexes/{POOL}/{a}/{n}" for a in ("foobar", "fo") for n in ("worker.config", "token")
    }
    assert report.deleted_objects == 2
    assert report.errors == []


def test_an_annex_of_the_same_name_in_another_pool_is_another_annex(clients: Clients) -> None:
    """Two pools sharing the account both have `foo`: one's end leaves the other be."""
    ended = launch(clients.ec2, "foo", NOW - 60, pool="laptop")
    kept = launch(clients.ec2, "foo", NOW + 3600, pool="seed")
    put_config(clients.s3, "foo", pool="laptop")
    put_config(clients.s3, "foo", pool="seed")
    report = reap(clients, NOW, bucket=BUCKET)
    assert report.expired_annexes == ["laptop/foo"]
    assert report.terminated_instances == ended
    assert states(clients.ec2, kept) == {"running"}
    assert keys(clients.s3) == {f"annexes/seed/foo/{n}" for n in ("worker.config", "token")}


def test_unexpired_annex_is_untouched(clients: Clients) -> None:
    ids = launch(clients.ec2, "later", NOW + 1)
    put_config(clients.s3, "later")
    report = reap(clients, NOW, bucket=BUCKET)
    assert report.expired_annexes == []
    assert report.terminated_instances == []
    assert states(clients.ec2, ids) == {"running"}
    assert len(keys(clients.s3)) == 2
    # and at its lease end it goes
    assert reap(clients, NOW + 1, bucket=BUCKET).terminated_instances == ids


def test_instance_past_its_own_lease_goes_even_mid_renewal(clients: Clients) -> None:
    old = launch(clients.ec2, "renewing", NOW - 5)
    new = launch(clients.ec2, "renewing", NOW + 3600)
    put_config(clients.s3, "renewing")
    report = reap(clients, NOW, bucket=BUCKET)
    assert report.terminated_instances == old
    assert report.expired_annexes == []  # the annex still holds a lease: objects stay
    assert states(clients.ec2, new) == {"running"}
    assert len(keys(clients.s3)) == 2


def test_objects_of_an_annex_whose_workers_ended_themselves_go(clients: Clients) -> None:
    ids = launch(clients.ec2, "selfended", NOW - 100)
    clients.ec2.terminate_instances(InstanceIds=ids)
    put_config(clients.s3, "selfended")
    report = reap(clients, NOW, bucket=BUCKET)
    assert report.expired_annexes == [f"{POOL}/selfended"]
    assert report.terminated_instances == []
    assert keys(clients.s3) == set()


def test_expired_fleets_are_ended(clients: Clients) -> None:
    ec2 = clients.ec2
    template = ec2.create_launch_template(
        LaunchTemplateName="condor-annex-test",
        LaunchTemplateData={"ImageId": "ami-12345678", "InstanceType": "t3.micro"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    fleets = {}
    for annex, end in (("spotty", NOW - 1), ("spottybar", NOW + 600)):
        fleets[annex] = ec2.create_fleet(
            Type="instant",
            LaunchTemplateConfigs=[
                {
                    "LaunchTemplateSpecification": {
                        "LaunchTemplateId": template,
                        "Version": "$Latest",
                    }
                }
            ],
            TargetCapacitySpecification={
                "TotalTargetCapacity": 2,
                "DefaultTargetCapacityType": "spot",
            },
            SpotOptions={"AllocationStrategy": "capacity-optimized"},
            TagSpecifications=[
                {"ResourceType": "fleet", "Tags": _tags(annex, end)},
                {"ResourceType": "instance", "Tags": _tags(annex, end)},
            ],
        )["FleetId"]
    spot = ec2.request_spot_fleet(
        SpotFleetRequestConfig={
            "IamFleetRole": "arn:aws:iam::123456789012:role/fleet",
            "TargetCapacity": 1,
            "Type": "request",
            "AllocationStrategy": "capacityOptimized",
            "LaunchSpecifications": [{"ImageId": "ami-12345678", "InstanceType": "t3.micro"}],
            "TagSpecifications": [
                {"ResourceType": "spot-fleet-request", "Tags": _tags("spotty", NOW - 1)}
            ],
        }
    )["SpotFleetRequestId"]
    report = reap(clients, NOW, bucket=BUCKET)
    assert report.expired_annexes == [f"{POOL}/spotty"]
    assert report.deleted_fleets == [fleets["spotty"]]
    assert report.cancelled_spot_fleets == [spot]
    assert len(report.terminated_instances) == 2
    live = ec2.describe_fleets(FleetIds=[fleets["spottybar"]])["Fleets"][0]["FleetState"]
    assert not live.startswith("deleted")
    assert report.errors == []


def test_many_instances_are_paged(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 25 over 130 instances stand in for pages of 1000 over thousands (speed)."""
    monkeypatch.setattr(reaper, "PAGE_SIZE", 25)
    monkeypatch.setattr(reaper, "TERMINATE_BATCH", 40)
    expired = launch(clients.ec2, "big", NOW - 1, count=120)
    kept = launch(clients.ec2, "big2", NOW + 60, count=10)
    report = reap(clients, NOW, bucket=BUCKET)
    assert sorted(report.terminated_instances) == sorted(expired)
    assert states(clients.ec2, kept) == {"running"}


def test_lambda_handler(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = launch(clients.ec2, "old", time.time() - 10)
    put_config(clients.s3, "old")
    monkeypatch.setenv("ANNEX_BUCKET", BUCKET)
    result = reaper.handler({"source": "aws.events"}, None)
    assert result["expired_annexes"] == [f"{POOL}/old"]
    assert result["terminated_instances"] == ids
    assert keys(clients.s3) == set()


def test_reap_lines_summarise(clients: Clients) -> None:
    launch(clients.ec2, "x", NOW - 1)
    (line,) = reap(clients, NOW, bucket=BUCKET).lines()
    assert f"1 expired annex(es) ({POOL}/x), 1 instance(s) terminated" in line
