"""AwsProvider against moto's server: launching, finding, renewing and ending annexes.

API calls are counted with botocore's own event hooks (`before-parameter-build`) on the real
clients: instrumentation of real requests to moto, not a fake. moto applies neither a
launch template's metadata options nor its instance profile to every instance (see
moto-facts.md), so those are checked in the request and on the template as well.
"""

from __future__ import annotations

import base64
import time
from collections import Counter
from typing import Any

import pytest

from condor_annex.lifecycle import GoneReason, WorkerState
from condor_annex.model import AnnexRecord
from condor_annex.providers.aws import AwsProvider, SetupRecord
from condor_annex.providers.aws.annexes import instances as ec2x
from condor_annex.providers.aws.annexes.userdata import unpack
from condor_annex.providers.aws.annexes.workeridentity import role_name
from condor_annex.providers.aws.reaper import TAG_ANNEX, TAG_LEASE_END, TAG_MANAGED, TAG_POOL
from condor_annex.settle import settle
from condor_annex.workerconfig import WorkerBundle, lease_config

REGION = "us-east-1"
POOL = "cm.example.org:9618"
TOKEN = "eyJ-not-a-real-token"
TYPES = ["m5.large", "m6i.large", "c5.large"]


class Calls:
    """Every API call the session's clients make, by operation name, with parameters."""

    def __init__(self, session: Any) -> None:
        self.names: Counter[str] = Counter()
        self.params: dict[str, list[dict[str, Any]]] = {}
        session.events.register("before-parameter-build", self._seen)

    def _seen(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.names[model.name] += 1
        self.params.setdefault(model.name, []).append(params)

    def clear(self) -> None:
        self.names.clear()
        self.params.clear()


def annex(name: str, count: int, lease: float = 3600) -> AnnexRecord:
    now = time.time()
    return AnnexRecord(name, "aws", count, now + lease, 600, 1, 1024, created_at=now)


def bundle(record: AnnexRecord, token: str = TOKEN) -> WorkerBundle:
    return WorkerBundle(
        annex_name=record.name,
        collector=POOL,
        uid_domain="condor-annex.local",
        annex_domain="annex.condor-annex.local",
        lease_end=record.lease_end,
        idle_seconds=record.idle_seconds,
        cpus=1,
        memory_mb=1024,
        token=token,
    )


def provider(session: Any, record: SetupRecord, spot: bool = False) -> AwsProvider:
    return AwsProvider(
        session,
        record,
        "m7i.large",
        "ami-12345678",
        spot=spot,
        instance_types=TYPES if spot else None,
        tags={"team": "physics"},
        sleep=lambda _: None,
    )


def start(p: AwsProvider, name: str, count: int) -> AnnexRecord:
    record = annex(name, count)
    settle(record, p.run_instances(record, bundle(record), count), time.time(), p.timing)
    return record


def look(p: AwsProvider, record: AnnexRecord, in_pool: set[str] | None = None) -> list:
    """What the core makes of the provider's view (it alone changes worker states)."""
    settle(record, p.query_instances(record), time.time(), p.timing, in_pool)
    return record.workers


def tagged(session: Any, name: str) -> list[dict[str, Any]]:
    pages = (
        session.client("ec2")
        .get_paginator("describe_instances")
        .paginate(Filters=[{"Name": f"tag:{TAG_ANNEX}", "Values": [name]}])
    )
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def tags_of(item: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in item.get("Tags", [])}


def obj(session: Any, bucket: str, key: str) -> str:
    return session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_on_demand_50_is_one_run_instances_call_with_exact_tags(
    session: Any, objects_allowed: SetupRecord
) -> None:
    calls = Calls(session)
    p = provider(session, objects_allowed)
    record = start(p, "od", 50)

    assert calls.names["RunInstances"] == 1
    (req,) = calls.params["RunInstances"]
    assert req["MinCount"] == req["MaxCount"] == 50
    assert req["LaunchTemplate"] == {
        "LaunchTemplateId": objects_allowed.launch_template_id,
        "Version": "$Default",
    }
    assert req["MetadataOptions"]["HttpTokens"] == "required"
    assert req["InstanceInitiatedShutdownBehavior"] == "terminate"
    assert req["IamInstanceProfile"]["Arn"].endswith(role_name(REGION, "od"))
    assert 0 < len(req["ClientToken"]) <= 64
    assert {s["ResourceType"] for s in req["TagSpecifications"]} == {"instance", "volume"}

    assert len(record.workers) == 50
    assert {w.state for w in record.workers} == {WorkerState.BOOTING}
    assert all(w.address for w in record.workers)
    found = tagged(session, "od")
    assert {i["InstanceId"] for i in found} == {w.id for w in record.workers}
    want = {
        TAG_ANNEX: "od",
        TAG_LEASE_END: ec2x.lease_tag(record.lease_end),
        TAG_POOL: POOL,
        TAG_MANAGED: "true",
        "team": "physics",
    }
    for inst in found:
        assert tags_of(inst).items() >= want.items()
        assert inst["MetadataOptions"]["HttpTokens"] == "required"  # IMDSv2 only

    ec2 = session.client("ec2")
    # The setup's launch template itself requires IMDSv2 and terminates on shutdown.
    (lt,) = ec2.describe_launch_template_versions(
        LaunchTemplateId=objects_allowed.launch_template_id, Versions=["$Default"]
    )["LaunchTemplateVersions"]
    assert lt["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"
    assert lt["LaunchTemplateData"]["InstanceInitiatedShutdownBehavior"] == "terminate"

    volumes = ec2.describe_volumes(Filters=[{"Name": f"tag:{TAG_ANNEX}", "Values": ["od"]}])
    assert len(volumes["Volumes"]) == 50

    raw = ec2.describe_instance_attribute(InstanceId=found[7]["InstanceId"], Attribute="userData")
    # gzip-compressed (cloud-init unpacks it): the boot script alone is near 16 KB.
    user_data = unpack(base64.b64decode(raw["UserData"]["Value"]))
    assert user_data.startswith("#!/bin/bash")
    assert f"ANNEX_BUCKET={objects_allowed.bucket}" in user_data
    assert "ANNEX_PREFIX=annexes/od/" in user_data
    assert "ANNEX_NAME=od" in user_data
    assert TOKEN not in user_data  # the token travels through S3 only

    prefix = "annexes/od/"
    config = obj(session, objects_allowed.bucket, prefix + "worker.config")
    assert "CCB_ADDRESS = $(COLLECTOR_HOST)" in config
    assert "LOCAL_DIR = /var/lib/condor-annex/worker" in config
    assert "SEC_USE_FAMILY_SESSION = True" in config
    assert 'AnnexName = "od"' in config
    assert "MASTER_NAME = @ANNEX_INSTANCE_ID@" in config
    assert obj(session, objects_allowed.bucket, prefix + "token") == TOKEN
    lease = obj(session, objects_allowed.bucket, prefix + "lease.config")
    assert lease == lease_config(record.lease_end)


def test_call_count_does_not_grow_with_the_annex(
    session: Any, objects_allowed: SetupRecord
) -> None:
    calls = Calls(session)
    p = provider(session, objects_allowed)
    start(p, "small", 2)
    small = sum(calls.names.values())
    calls.clear()
    start(p, "large", 60)
    assert sum(calls.names.values()) == small
    assert not any(name.startswith("Describe") for name in calls.names)


def test_per_annex_role_is_tagged_and_carries_the_shared_policy(
    session: Any, objects_allowed: SetupRecord
) -> None:
    p = provider(session, objects_allowed)
    start(p, "alpha", 1)
    start(p, "alpha-2", 1)
    start(p, "alpha", 1)  # a second create reuses the role: no duplicate, no error
    iam = session.client("iam")
    name = role_name(REGION, "alpha")
    role = iam.get_role(RoleName=name)["Role"]
    assert role["Path"] == f"/condor-annex/{REGION}/"
    assert tags_of(role) == {TAG_ANNEX: "alpha", TAG_MANAGED: "true"}
    assert "ec2.amazonaws.com" in str(role["AssumeRolePolicyDocument"])
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert [a["PolicyArn"] for a in attached] == [objects_allowed.worker_policy_arn]
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [name]
    assert profile["Path"] == f"/condor-annex/{REGION}/"
    roles = iam.list_roles(PathPrefix=f"/condor-annex/{REGION}/")["Roles"]
    assert sorted(r["RoleName"] for r in roles if "-a-" in r["RoleName"]) == sorted(
        [role_name(REGION, "alpha"), role_name(REGION, "alpha-2")]
    )


def test_role_names_fit_iam_for_the_longest_annex_names() -> None:
    long_a, long_b = "a" * 62 + "x", "a" * 62 + "y"
    assert len(role_name("ap-southeast-2", long_a)) <= 64
    assert role_name("ap-southeast-2", long_a) != role_name("ap-southeast-2", long_b)


def test_spot_is_one_instant_capacity_optimized_fleet_over_three_types(
    session: Any, objects_allowed: SetupRecord
) -> None:
    calls = Calls(session)
    p = provider(session, objects_allowed, spot=True)
    record = start(p, "sp", 20)

    assert calls.names["CreateFleet"] == 1
    assert calls.names["RunInstances"] == 0
    (req,) = calls.params["CreateFleet"]
    assert req["Type"] == "instant"
    assert req["TargetCapacitySpecification"] == {
        "TotalTargetCapacity": 20,
        "DefaultTargetCapacityType": "spot",
    }
    assert req["SpotOptions"]["AllocationStrategy"] == "capacity-optimized"
    (config,) = req["LaunchTemplateConfigs"]
    assert [o["InstanceType"] for o in config["Overrides"]] == TYPES
    assert config["LaunchTemplateSpecification"]["LaunchTemplateId"] == (
        objects_allowed.launch_template_id
    )
    # The template version the fleet uses carries the user data, profile and IMDSv2.
    (version,) = calls.params["CreateLaunchTemplateVersion"]
    assert version["SourceVersion"] == "$Default"
    data = version["LaunchTemplateData"]
    assert "ANNEX_PREFIX=annexes/sp/" in unpack(base64.b64decode(data["UserData"]))
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["IamInstanceProfile"]["Arn"].endswith(role_name(REGION, "sp"))

    assert len(record.workers) == 20
    found = tagged(session, "sp")
    assert {i["InstanceId"] for i in found} == {w.id for w in record.workers}
    for inst in found:
        assert tags_of(inst)[TAG_ANNEX] == "sp"
        assert tags_of(inst)[TAG_LEASE_END] == ec2x.lease_tag(record.lease_end)
    (fleet,) = session.client("ec2").describe_fleets()["Fleets"]
    assert tags_of(fleet)[TAG_ANNEX] == "sp"
    assert tags_of(fleet)[TAG_LEASE_END] == ec2x.lease_tag(record.lease_end)


def test_query_pages_through_1000_instances(
    session: Any, objects_allowed: SetupRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1000 instances of one annex, found by one paginated, tag-filtered describe.

    moto pages by reservation (AWS pages by instance), so the annex is launched here as
    10 reservations of 100 and the page size is 4: the paginator must follow NextToken
    through 3 pages. Records the store lost are added back from what EC2 reports.
    """
    monkeypatch.setattr(ec2x, "PAGE_SIZE", 4)
    ec2 = session.client("ec2")
    record = annex("big", 1000)
    tags = ec2x.annex_tags("big", record.lease_end, POOL, {})
    for _ in range(10):
        ec2.run_instances(
            ImageId="ami-12345678",
            MinCount=100,
            MaxCount=100,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
    calls = Calls(session)  # before the provider makes its clients, which copy the hooks
    p = provider(session, objects_allowed)
    workers = look(p, record)
    assert calls.names["DescribeInstances"] == 3
    assert len(workers) == 1000
    assert len({w.id for w in workers}) == 1000
    # moto starts them at once, but none is in a pool: booting, not running.
    assert {w.state for w in workers} == {WorkerState.BOOTING}
    assert all(w.address for w in workers)
    assert p.cost(record).dollars >= 0


def test_query_maps_states_and_reasons(session: Any, objects_allowed: SetupRecord) -> None:
    p = provider(session, objects_allowed)
    record = start(p, "states", 4)
    ec2 = session.client("ec2")
    ec2.terminate_instances(InstanceIds=[record.workers[0].id])
    look(p, record, in_pool={w.id for w in record.workers[1:]})
    by_id = {w.id: w for w in record.workers}
    assert by_id[record.workers[0].id].state == WorkerState.GONE
    assert by_id[record.workers[0].id].gone_reason == GoneReason.EXITED
    assert {w.state for w in record.workers[1:]} == {WorkerState.RUNNING}

    record.off_requested = True
    ec2.terminate_instances(InstanceIds=[record.workers[1].id])
    look(p, record)
    assert record.workers[1].gone_reason == GoneReason.OFF

    record.lease_end = time.time() - 1
    ec2.terminate_instances(InstanceIds=[record.workers[2].id])
    look(p, record)
    assert record.workers[2].gone_reason == GoneReason.LEASE
    assert record.workers[3].state == WorkerState.RUNNING


def test_terminate_ends_everything_and_deletes_fleets_role_and_objects(
    session: Any, objects_allowed: SetupRecord
) -> None:
    p = provider(session, objects_allowed, spot=True)
    record = start(p, "done", 6)
    record.off_requested = True
    p.terminate_instances(record)
    look(p, record)
    assert {w.state for w in record.workers} == {WorkerState.GONE}
    assert {w.gone_reason for w in record.workers} == {GoneReason.OFF}
    states = {i["State"]["Name"] for i in tagged(session, "done")}
    assert states <= {"shutting-down", "terminated"}
    (fleet,) = session.client("ec2").describe_fleets()["Fleets"]
    assert fleet["FleetState"].startswith("deleted")
    iam = session.client("iam")
    assert not iam.list_roles(PathPrefix=f"/condor-annex/{REGION}/a")["Roles"]
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert role_name(REGION, "done") not in roles
    listed = session.client("s3").list_objects_v2(
        Bucket=objects_allowed.bucket, Prefix="annexes/done/"
    )
    assert listed.get("KeyCount", 0) == 0


def test_terminate_some_by_id(session: Any, objects_allowed: SetupRecord) -> None:
    p = provider(session, objects_allowed)
    record = start(p, "part", 4)
    gone = [record.workers[0].id, record.workers[2].id]
    p.terminate_instances(record, gone)
    look(p, record)
    assert [w.state for w in record.workers] == [
        WorkerState.GONE,
        WorkerState.BOOTING,
        WorkerState.GONE,
        WorkerState.BOOTING,
    ]
    live = {i["InstanceId"] for i in tagged(session, "part") if i["State"]["Name"] == "running"}
    assert live == {record.workers[1].id, record.workers[3].id}
    roles = [r["RoleName"] for r in session.client("iam").list_roles()["Roles"]]
    assert role_name(REGION, "part") in roles  # only a whole-annex end removes the role


def test_set_lease_retags_all_instances_and_fleets(
    session: Any, objects_allowed: SetupRecord
) -> None:
    p = provider(session, objects_allowed, spot=True)
    calls = Calls(session)
    record = start(p, "renew", 12)
    record.lease_end += 7200
    calls.clear()
    p.set_lease(record, bundle(record, token="eyJ-fresh"))
    assert calls.names["CreateTags"] == 1  # 12 instances and the fleet, one batch
    for inst in tagged(session, "renew"):
        assert tags_of(inst)[TAG_LEASE_END] == ec2x.lease_tag(record.lease_end)
    (fleet,) = session.client("ec2").describe_fleets()["Fleets"]
    assert tags_of(fleet)[TAG_LEASE_END] == ec2x.lease_tag(record.lease_end)
    assert obj(session, objects_allowed.bucket, "annexes/renew/token") == "eyJ-fresh"
    lease = obj(session, objects_allowed.bucket, "annexes/renew/lease.config")
    assert lease == lease_config(record.lease_end)


def test_set_lease_batches_at_1000(
    session: Any, objects_allowed: SetupRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ec2x, "BATCH", 4)
    calls = Calls(session)
    p = provider(session, objects_allowed)
    record = start(p, "batched", 10)
    calls.clear()
    p.set_lease(record, bundle(record))
    p.terminate_instances(record)
    assert calls.names["CreateTags"] == 3
    assert calls.names["TerminateInstances"] == 3


def test_foo_never_touches_foobar(session: Any, objects_allowed: SetupRecord) -> None:
    p = provider(session, objects_allowed)
    foo = start(p, "foo", 3)
    foobar = start(p, "foobar", 2)
    start(p, "fo", 1)
    assert {w.id for w in look(p, foo)} == {o.id for o in p.query_instances(foo)}
    assert len(foo.workers) == 3

    foo.lease_end += 100
    p.set_lease(foo, bundle(foo))
    p.terminate_instances(foo)
    for inst in tagged(session, "foobar"):
        assert inst["State"]["Name"] == "running"
        assert tags_of(inst)[TAG_LEASE_END] == ec2x.lease_tag(foobar.lease_end)
    assert len(p.query_instances(foobar)) == 2
    assert {w.state for w in look(p, foobar)} == {WorkerState.BOOTING}
    roles = [r["RoleName"] for r in session.client("iam").list_roles()["Roles"]]
    assert role_name(REGION, "foobar") in roles
    assert role_name(REGION, "foo") not in roles
    keys = session.client("s3").list_objects_v2(Bucket=objects_allowed.bucket)["Contents"]
    assert {k["Key"].split("/")[1] for k in keys} == {"foobar", "fo"}
