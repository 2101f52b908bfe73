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

from condor_annex.errors import UsageError
from condor_annex.lifecycle import GoneReason, WorkerState
from condor_annex.model import AnnexRecord, AnnexRequest
from condor_annex.providers.aws import AwsProvider, SetupRecord
from condor_annex.providers.aws.annexes import instances as ec2x
from condor_annex.providers.aws.annexes.userdata import unpack
from condor_annex.providers.aws.annexes.workeridentity import role_name
from condor_annex.providers.aws.reaper import (
    TAG_ANNEX,
    TAG_COLLECTOR,
    TAG_LEASE_END,
    TAG_MANAGED,
    TAG_POOL,
)
from condor_annex.settle import settle
from condor_annex.workerconfig import WorkerBundle, lease_config

from .annexkeys import POOL, prefix

REGION = "us-east-1"
COLLECTOR = "cm.example.org:9618"
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
        collector=COLLECTOR,
        uid_domain="condor-annex.local",
        annex_domain="annex.condor-annex.local",
        lease_end=record.lease_end,
        idle_seconds=record.idle_seconds,
        cpus=1,
        memory_mb=1024,
        token=token,
    )


def provider(
    session: Any, record: SetupRecord, spot: bool = False, pool: str = POOL
) -> AwsProvider:
    return AwsProvider(
        session,
        record,
        "m7i.large",
        "ami-12345678",
        spot=spot,
        instance_types=TYPES if spot else None,
        tags={"team": "physics"},
        pool=pool,
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
    assert req["IamInstanceProfile"]["Arn"].endswith(role_name(REGION, POOL, "od"))
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
        TAG_COLLECTOR: COLLECTOR,
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
    assert f"ANNEX_PREFIX={prefix('od')}" in user_data
    assert "ANNEX_NAME=od" in user_data
    assert TOKEN not in user_data  # the token travels through S3 only

    config = obj(session, objects_allowed.bucket, prefix("od") + "worker.config")
    assert "CCB_ADDRESS = $(COLLECTOR_HOST)" in config
    assert "LOCAL_DIR = /var/lib/condor-annex/worker" in config
    assert "SEC_USE_FAMILY_SESSION = True" in config
    assert 'AnnexName = "od"' in config
    assert "MASTER_NAME = @ANNEX_INSTANCE_ID@" in config
    assert obj(session, objects_allowed.bucket, prefix("od") + "token") == TOKEN
    lease = obj(session, objects_allowed.bucket, prefix("od") + "lease.config")
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
    name = role_name(REGION, POOL, "alpha")
    role = iam.get_role(RoleName=name)["Role"]
    assert role["Path"] == f"/condor-annex/{REGION}/pool/{POOL}/"
    assert tags_of(role) == {TAG_POOL: POOL, TAG_ANNEX: "alpha", TAG_MANAGED: "true"}
    # Bounded: whatever else is attached, the setup's denies hold.
    boundary = role["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert boundary == objects_allowed.worker_boundary_arn
    assert "ec2.amazonaws.com" in str(role["AssumeRolePolicyDocument"])
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert [a["PolicyArn"] for a in attached] == [objects_allowed.worker_policy_arn]
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [name]
    assert profile["Path"] == f"/condor-annex/{REGION}/pool/{POOL}/"
    roles = iam.list_roles(PathPrefix=f"/condor-annex/{REGION}/")["Roles"]
    assert sorted(r["RoleName"] for r in roles if "-a-" in r["RoleName"]) == sorted(
        [role_name(REGION, POOL, "alpha"), role_name(REGION, POOL, "alpha-2")]
    )


def test_role_names_fit_iam_for_the_longest_annex_names() -> None:
    long_a, long_b = "a" * 62 + "x", "a" * 62 + "y"
    pool = "p" * 32
    assert len(role_name("ap-southeast-2", pool, long_a)) <= 64
    assert role_name("ap-southeast-2", pool, long_a) != role_name("ap-southeast-2", pool, long_b)
    # Role names are unique in the account: two pools' `foo` must differ.
    assert role_name(REGION, "a", "foo") != role_name(REGION, "b", "foo")


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
    assert f"ANNEX_PREFIX={prefix('sp')}" in unpack(base64.b64decode(data["UserData"]))
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["IamInstanceProfile"]["Arn"].endswith(role_name(REGION, POOL, "sp"))

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
    tags = ec2x.annex_tags(POOL, "big", record.lease_end, COLLECTOR, {})
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
    assert not iam.list_roles(PathPrefix=f"/condor-annex/{REGION}/pool/")["Roles"]
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert role_name(REGION, POOL, "done") not in roles
    listed = session.client("s3").list_objects_v2(
        Bucket=objects_allowed.bucket, Prefix=prefix("done")
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
    assert role_name(REGION, POOL, "part") in roles  # only a whole-annex end removes the role


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
    assert obj(session, objects_allowed.bucket, prefix("renew") + "token") == "eyJ-fresh"
    lease = obj(session, objects_allowed.bucket, prefix("renew") + "lease.config")
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
    assert role_name(REGION, POOL, "foobar") in roles
    assert role_name(REGION, POOL, "foo") not in roles
    keys = session.client("s3").list_objects_v2(Bucket=objects_allowed.bucket)["Contents"]
    assert {k["Key"].split("/")[2] for k in keys} == {"foobar", "fo"}


def test_two_pools_annexes_of_one_name_never_touch(
    session: Any, objects_allowed: SetupRecord
) -> None:
    """Two pools share the account (a laptop and a seed, say) and both have `foo`: ending,
    renewing and looking at one leaves the other's instances, objects and role alone."""
    mine, theirs = provider(session, objects_allowed), provider(session, objects_allowed, pool="b")
    foo = start(mine, "foo", 2)
    other = start(theirs, "foo", 3)
    assert {o.id for o in mine.query_instances(foo)} == {w.id for w in foo.workers}
    assert {o.id for o in theirs.query_instances(other)} == {w.id for w in other.workers}

    foo.lease_end += 600
    mine.set_lease(foo, bundle(foo, token="eyJ-mine"))
    mine.terminate_instances(foo)
    running = {i["InstanceId"] for i in tagged(session, "foo") if i["State"]["Name"] == "running"}
    assert running == {w.id for w in other.workers}
    for inst in tagged(session, "foo"):
        if inst["InstanceId"] in running:
            assert tags_of(inst)[TAG_LEASE_END] == ec2x.lease_tag(other.lease_end)
            assert tags_of(inst)[TAG_POOL] == "b"
    assert obj(session, objects_allowed.bucket, prefix("foo", "b") + "token") == TOKEN
    roles = [r["RoleName"] for r in session.client("iam").list_roles()["Roles"]]
    assert role_name(REGION, "b", "foo") in roles
    assert role_name(REGION, POOL, "foo") not in roles


def test_create_asks_the_cloud_before_it_makes_anything(
    session: Any, objects_allowed: SetupRecord
) -> None:
    """A record store can be lost or another home of the pool can have made the annex:
    a live annex of the name in this pool stops a create; another pool's does not."""
    mine = provider(session, objects_allowed)
    start(mine, "taken", 1)
    request = AnnexRequest("taken", count=1, lease_seconds=3600, idle_seconds=600)
    with pytest.raises(UsageError, match="already has 1 live instance"):
        mine.prepare(request)
    elsewhere = provider(session, objects_allowed, pool="elsewhere")
    images = session.client("ec2").describe_images(Owners=["amazon"])["Images"]
    elsewhere.image_id = images[0]["ImageId"]  # prepare checks the image: one moto has
    elsewhere.prepare(request)
