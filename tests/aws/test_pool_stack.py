"""Whole pools in the cloud (`annex pool create/update/delete/list`) against moto's server.

Where moto differs from AWS, the tests say so and check that path another way:
- moto's CloudFormation applies neither an instance's MetadataOptions nor its
  SecurityGroupIds, and has no AWS::CloudWatch::Alarm at all: those are checked in the
  template as CloudFormation holds it (get_template), and IMDSv2 also on the instance,
  where the tool checks and repairs it after every create and update.
- moto's CloudFormation never tags (nor, on stack deletion, releases) an AWS::EC2::EIP:
  the pool finds its address by the address its stack recorded as well as by tag.
- moto keeps a stack-made inline role policy as Python text, not JSON (seed_policy).
- moto lists no resource changes in a parameter-only change set: the real change set is
  executed against moto, and what AWS lists (the seed replaced) is answered by a
  botocore Stubber for the display and the confirmation.
"""

from __future__ import annotations

import ast
import json
import re
import time
from typing import Any

import pytest
from botocore.stub import ANY, Stubber
from cfnlint.decode import cfn_yaml

from condor_annex.api import Cancelled
from condor_annex.cli.main import cli
from condor_annex.cli.runner import run
from condor_annex.model import AnnexRecord
from condor_annex.providers.aws import AwsProvider, SetupRecord, naming, setup, teardown
from condor_annex.providers.aws.account.inventory import take_inventory
from condor_annex.providers.aws.annexes.workeridentity import role_name
from condor_annex.providers.aws.pools.poollist import pool_summary
from condor_annex.providers.aws.pools.poolrecord import CloudPool, find_pool
from condor_annex.providers.aws.pools.poolstack import (
    WORLD_WARNING,
    PoolRequest,
    create_pool,
    root_volume,
    update_pool,
)
from condor_annex.providers.aws.reaper import TAG_MANAGED, TAG_POOL
from condor_annex.workerconfig import WorkerBundle

REGION = "us-east-1"
ADMIN = "203.0.113.0/24"
WORLD = "0.0.0.0/0"
MOTO_LOG = re.compile(r"^(127\.0\.0\.1 - - \[|No Moto CloudFormation support)")


# Three of the images moto's EC2 knows in every region (listing them all takes seconds).
IMAGES = ("ami-03cf127a", "ami-12c6146b", "ami-1812c061")


def images(session: Any) -> tuple[str, str, str]:
    found = session.client("ec2").describe_images(ImageIds=list(IMAGES))["Images"]
    assert {i["ImageId"] for i in found} == set(IMAGES)
    return IMAGES


def make_pool(session: Any, said: list[str], name: str = "demo", **extra: Any) -> CloudPool:
    control, worker, _ = images(session)
    request = PoolRequest(name, control, worker, ADMIN, **extra)
    return create_pool(session, request, said.append, lambda _s: True, poll=0.01)


def annex(*argv: str) -> int:
    """The command line in this process (the same runner `annex` uses)."""
    return run(cli, "annex", list(argv))


def template(session: Any, stack: str) -> dict[str, Any]:
    """The template as CloudFormation holds it, with !Sub and !Ref as Fn:: mappings."""
    body = session.client("cloudformation").get_template(StackName=stack)["TemplateBody"]
    return body if isinstance(body, dict) else cfn_yaml.loads(body)


def ingress(session: Any, group_id: str) -> set[tuple[int, str]]:
    """(port, source) for every inbound rule of a security group."""
    group = session.client("ec2").describe_security_groups(GroupIds=[group_id])
    rules = set()
    for perm in group["SecurityGroups"][0]["IpPermissions"]:
        port = perm["FromPort"]
        assert port == perm["ToPort"]
        rules |= {(port, r["CidrIp"]) for r in perm.get("IpRanges", [])}
        rules |= {(port, r.get("CidrIpv6", "")) for r in perm.get("Ipv6Ranges", [])}
        rules |= {(port, g["GroupId"]) for g in perm.get("UserIdGroupPairs", [])}
    return rules


def seed_policy(session: Any) -> dict[str, Any]:
    """The seed role's inline policy. moto keeps a stack-made inline policy as the text
    of a Python dict rather than JSON; AWS returns the JSON document."""
    document = session.client("iam").get_role_policy(
        RoleName=naming.pool_role_name(REGION, "demo"), PolicyName="condor-annex-seed"
    )["PolicyDocument"]
    if isinstance(document, dict):
        return document
    try:
        return dict(json.loads(document))
    except json.JSONDecodeError:
        return dict(ast.literal_eval(document))


def seed(session: Any, pool: CloudPool) -> dict[str, Any]:
    reply = session.client("ec2").describe_instances(InstanceIds=[pool.seed_instance_id])
    return reply["Reservations"][0]["Instances"][0]


def put_recovery_alarm(session: Any, pool: str) -> None:
    """The pool's alarm as CloudFormation makes it on AWS (moto's CloudFormation cannot)."""
    session.client("cloudwatch").put_metric_alarm(
        AlarmName=naming.pool_alarm_name(pool),
        Namespace="AWS/EC2",
        MetricName="StatusCheckFailed_System",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=2,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[f"arn:aws:automate:{REGION}:ec2:recover"],
    )


def test_create_makes_one_stack_with_a_locked_down_seed(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    pool = make_pool(session, said)
    assert f"Creating stack {naming.pool_stack_name('demo')}..." in said
    control, worker, _ = images(session)
    cf = session.client("cloudformation")
    stack = cf.describe_stacks(StackName="condor-annex-pool-demo")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {t["Key"]: t["Value"] for t in stack["Tags"]} == {TAG_MANAGED: "true", TAG_POOL: "demo"}
    assert pool.control_image == control and pool.worker_image == worker
    assert pool.parameters["AdminCidr"] == ADMIN
    assert pool.parameters["AllowWorld"] == "false"
    assert pool.parameters["WorkerSecurityGroupId"] == record.security_group_id
    resources = {
        r["LogicalResourceId"]: r
        for r in cf.list_stack_resources(StackName=pool.stack_name)["StackResourceSummaries"]
    }
    assert "CollectorFromWorld" not in resources  # only with --allow-world

    # 9618 only from the workers' security group and the admin network; ssh only from it.
    assert ingress(session, pool.outputs["SeedSecurityGroupId"]) == {
        (9618, record.security_group_id),
        (9618, ADMIN),
        (22, ADMIN),
    }

    # The Elastic IP is the seed's; the seed is on-demand, IMDSv2 only, tagged, profiled.
    ec2 = session.client("ec2")
    (address,) = ec2.describe_addresses(PublicIps=[pool.seed_address])["Addresses"]
    assert address["InstanceId"] == pool.seed_instance_id
    instance = seed(session, pool)
    assert instance["PublicIpAddress"] == pool.seed_address
    assert "InstanceLifecycle" not in instance  # not spot
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert instance["IamInstanceProfile"]["Arn"].endswith(
        f"/condor-annex/{REGION}/{naming.pool_role_name(REGION, 'demo')}"
    )
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags[TAG_POOL] == "demo" and tags[TAG_MANAGED] == "true"
    assert tags["condor-annex:worker-image"] == worker

    # What moto's CloudFormation does not apply, checked as CloudFormation holds it.
    resources_in = template(session, pool.stack_name)["Resources"]
    seed_props = resources_in["Seed"]["Properties"]
    assert seed_props["MetadataOptions"]["HttpTokens"] == "required"
    assert "InstanceMarketOptions" not in seed_props
    assert seed_props["SecurityGroupIds"] == [{"Fn::GetAtt": ["SeedSecurityGroup", "GroupId"]}]
    alarm = resources_in["SeedRecoveryAlarm"]["Properties"]
    assert alarm["MetricName"] == "StatusCheckFailed_System"
    assert alarm["Dimensions"] == [{"Name": "InstanceId", "Value": {"Ref": "Seed"}}]
    assert alarm["AlarmActions"] == [{"Fn::Sub": "arn:aws:automate:${AWS::Region}:ec2:recover"}]

    # The seed's role may pass only the tool's worker roles, attach only the setup's policy.
    policy = seed_policy(session)
    statements = {s["Sid"]: s for s in policy["Statement"]}
    worker_roles = f"arn:aws:iam::123456789012:role/condor-annex/{REGION}/pool/demo/*"
    assert statements["PassOnlyThisPoolsWorkerRoles"]["Resource"] == worker_roles
    attach = statements["WorkerRolePoliciesOnlyThese"]
    assert attach["Condition"]["ArnEquals"]["iam:PolicyARN"] == [record.worker_policy_arn]
    assert not [s for s in policy["Statement"] if s["Action"] in ("*", "iam:*", "ec2:*")]

    # --allow-world: one more rule, 9618 only, and a warning; ssh stays with the admin.
    said.clear()
    open_pool = make_pool(session, said, "open", allow_world=True)
    assert WORLD_WARNING in said
    assert ingress(session, open_pool.outputs["SeedSecurityGroupId"]) == {
        (9618, record.security_group_id),
        (9618, ADMIN),
        (22, ADMIN),
        (9618, WORLD),
    }


def test_update_changes_the_images_and_nothing_else(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    before = make_pool(session, said)
    body_before = template(session, before.stack_name)
    _, _, third = images(session)
    said.clear()
    after = update_pool(
        session,
        "demo",
        said.append,
        lambda _s: True,
        worker_image=third,
        control_image=before.worker_image,
        poll=0.01,
    )
    assert f"  WorkerNodeAmiId: {before.worker_image} -> {third}" in said
    assert after.status == "UPDATE_COMPLETE"
    assert after.worker_image == third
    assert after.control_image == before.worker_image
    unchanged = set(before.parameters) - {"WorkerNodeAmiId", "ControlNodeAmiId"}
    assert {k: after.parameters[k] for k in unchanged} == {
        k: before.parameters[k] for k in unchanged
    }
    assert set(after.parameters) == set(before.parameters)
    assert template(session, after.stack_name) == body_before
    assert after.outputs["SeedSecurityGroupId"] == before.outputs["SeedSecurityGroupId"]
    assert after.seed_address == before.seed_address

    said.clear()
    again = update_pool(session, "demo", said.append, lambda _s: True, worker_image=third)
    assert said == ["Pool demo already uses these images; nothing to change."]
    assert again.parameters == after.parameters


class OneServiceStubbed:
    """The real session, except one service's client, which a botocore Stubber answers."""

    def __init__(self, session: Any, service: str) -> None:
        self.session = session
        self.region_name = session.region_name
        self.service = service
        self.stubbed = session.client(service)
        self.stubber = Stubber(self.stubbed)

    def client(self, service: str) -> Any:
        return self.stubbed if service == self.service else self.session.client(service)


def test_update_shows_what_changes_and_asks_first(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    """moto lists no resource changes for a parameter-only change set; AWS lists the seed,
    replaced for a new control image. The Stubber answers as AWS does."""
    pool = make_pool(session, said)
    _, _, third = images(session)
    real = session.client("cloudformation").describe_stacks(StackName=pool.stack_name)
    stub = OneServiceStubbed(session, "cloudformation")
    new = {"ControlNodeAmiId": third, "WorkerNodeAmiId": third}
    new |= root_volume(session.client("ec2"), third)  # the new seed's encrypted volume
    parameters = [
        {"ParameterKey": k, "ParameterValue": new[k]}
        if k in new
        else {"ParameterKey": k, "UsePreviousValue": True}
        for k in pool.parameters
    ]
    names = {"StackName": pool.stack_name, "ChangeSetName": ANY}

    def change(logical: str, kind: str, replacement: str) -> dict[str, Any]:
        return {
            "Type": "Resource",
            "ResourceChange": {
                "Action": "Modify",
                "LogicalResourceId": logical,
                "ResourceType": kind,
                "Replacement": replacement,
            },
        }

    stub.stubber.add_response("describe_stacks", real, {"StackName": pool.stack_name})
    stub.stubber.add_response(
        "create_change_set",
        {"Id": "arn:aws:cloudformation:us-east-1:123456789012:changeSet/x/1"},
        {
            **names,
            "ChangeSetType": "UPDATE",
            "UsePreviousTemplate": True,
            "Parameters": parameters,
            "Capabilities": ["CAPABILITY_NAMED_IAM"],
            "Description": ANY,
        },
    )
    stub.stubber.add_response(
        "describe_change_set",
        {
            "Status": "CREATE_COMPLETE",
            "Changes": [
                change("Seed", "AWS::EC2::Instance", "True"),
                change("SeedAddress", "AWS::EC2::EIP", "False"),
                change("SeedRecoveryAlarm", "AWS::CloudWatch::Alarm", "False"),
            ],
        },
        names,
    )
    stub.stubber.add_response("delete_change_set", {}, names)  # the user said no
    said.clear()
    with stub.stubber, pytest.raises(Cancelled):
        update_pool(
            stub, "demo", said.append, lambda _s: False, worker_image=third, control_image=third
        )
    stub.stubber.assert_no_pending_responses()
    assert "  Modify Seed (AWS::EC2::Instance): replaced" in said
    assert "  Modify SeedAddress (AWS::EC2::EIP)" in said
    assert any(line.startswith("Warning: the seed is replaced") for line in said)

    # A change set that would change nothing is discarded, and the stack left alone.
    stub = OneServiceStubbed(session, "cloudformation")
    stub.stubber.add_response("describe_stacks", real, {"StackName": pool.stack_name})
    stub.stubber.add_response("create_change_set", {"Id": "x"}, None)
    stub.stubber.add_response(
        "describe_change_set",
        {
            "Status": "FAILED",
            "StatusReason": "The submitted information didn't contain changes. "
            "Submit different information to create a change set.",
        },
        names,
    )
    stub.stubber.add_response("delete_change_set", {}, names)
    said.clear()
    with stub.stubber:
        update_pool(stub, "demo", said.append, lambda _s: True, worker_image=third)
    stub.stubber.assert_no_pending_responses()
    assert said == ["CloudFormation finds nothing to change in pool demo."]
    assert find_pool(session, "demo") == pool


def run_annex_of(
    session: Any,
    record: SetupRecord,
    pool: CloudPool,
    annex_name: str,
    collector: str,
    pool_id: str = "demo",
) -> AwsProvider:
    """What `annex create` on the seed does: the same provider, with the pool's worker
    image and instance policy, its name as the pool id, and the seed as the collector."""
    provider = AwsProvider(
        session,
        record,
        "m7i.large",
        pool.worker_image,
        instance_policies=(pool.instance_policy,) if pool.instance_policy else (),
        pool=pool_id,
        sleep=lambda _s: None,
    )
    now = time.time()
    annex = AnnexRecord(annex_name, "aws", 2, now + 3600, 600, 1, 1024, created_at=now)
    bundle = WorkerBundle(
        annex_name=annex_name,
        collector=collector,
        uid_domain="condor-annex.local",
        annex_domain="annex.condor-annex.local",
        lease_end=annex.lease_end,
        idle_seconds=annex.idle_seconds,
        cpus=1,
        memory_mb=1024,
        token="eyJ-not-a-real-token",
    )
    provider.run_instances(annex, bundle, 2)
    return provider


def test_pool_from_create_to_delete_on_the_command_line(
    session: Any, objects_allowed: SetupRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    iam = session.client("iam")
    bucket_policy = iam.create_policy(
        PolicyName="read-input-bucket",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::in/*"}
                ],
            }
        ),
    )["Policy"]["Arn"]
    control, worker, _ = images(session)
    code = annex(
        "pool", "create", "demo", "--control-image", control, "--worker-image", worker,
        "--admin-cidr", ADMIN, "--instance-policy", bucket_policy, "--workers", "3", "--yes",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    pool = find_pool(session, "demo")
    assert pool is not None
    dns = pool_summary(session, pool).seed_dns
    assert f"  ssh admin@{pool.seed_address}" in out
    assert "  condor_submit job.sub" in out
    assert (
        f"  annex create demo-workers --count 3 --duration 2h --pool-address {dns}:9618 "
        f"--instance-policy {bucket_policy}"
    ) in out

    # --instance-policy reaches the pool's workers: recorded in the stack, the only extra
    # policy the seed may attach, and on the role of an annex made as the seed makes one.
    assert pool.instance_policy == bucket_policy
    statements = seed_policy(session)["Statement"]
    (attach,) = [s for s in statements if s["Sid"] == "WorkerRolePoliciesOnlyThese"]
    assert attach["Condition"]["ArnEquals"]["iam:PolicyARN"] == [
        objects_allowed.worker_policy_arn,
        bucket_policy,
    ]
    run_annex_of(session, objects_allowed, pool, "demo-workers", f"{dns}:9618")
    attached = iam.list_attached_role_policies(RoleName=role_name(REGION, "demo", "demo-workers"))
    assert bucket_policy in {p["PolicyArn"] for p in attached["AttachedPolicies"]}
    # An annex of another pool, which neither list nor delete may count as this pool's.
    run_annex_of(session, objects_allowed, pool, "elsewhere", "cm.example.org:9618", "other")

    assert annex("pool", "list", "--json") == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["name"] == "demo"
    assert listed["control_image"] == control and listed["worker_image"] == worker
    assert listed["seed_address"] == pool.seed_address
    assert listed["annexes"] == {"demo-workers": 2}
    assert listed["workers"] == 2
    assert annex("pool", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"demo  CREATE_COMPLETE  seed {pool.seed_address}")
    assert lines[1] == f"  images: control {control}, workers {worker}"
    assert lines[2] == "  annexes: demo-workers (2); 2 live worker(s)"

    put_recovery_alarm(session, "demo")
    before = {(r.kind, r.id) for r in take_inventory(session).resources}

    assert annex("pool", "delete", "demo", "--yes") == 0
    out = capsys.readouterr().out
    assert "Nothing of pool demo is left in us-east-1." in out
    after = {(r.kind, r.id) for r in take_inventory(session).resources}
    gone = before - after
    assert ("stack", pool.stack_name) in gone
    assert ("alarm", naming.pool_alarm_name("demo")) in gone
    assert ("iam-role", role_name(REGION, "demo", "demo-workers")) in gone
    assert ("iam-role", naming.pool_role_name(REGION, "demo")) in gone
    assert {i for k, i in gone if k == "instance"} >= {pool.seed_instance_id}
    assert len([k for k, _ in gone if k == "instance"]) == 3  # seed and two workers
    assert not session.client("ec2").describe_addresses(
        Filters=[{"Name": "public-ip", "Values": [pool.seed_address]}]
    )["Addresses"]
    # The setup and the other pool's annex are untouched; the user's policy stays.
    assert ("iam-role", role_name(REGION, "other", "elsewhere")) in after
    assert len([k for k, _ in after if k == "instance"]) == 2
    assert ("stack", naming.stack_name(REGION)) in after
    assert iam.get_policy(PolicyArn=bucket_policy)["Policy"]["Arn"] == bucket_policy
    keys = session.client("s3").list_objects_v2(Bucket=objects_allowed.bucket, Prefix="annexes/")
    assert {o["Key"] for o in keys.get("Contents", [])} >= {"annexes/other/elsewhere/token"}
    assert {o["Key"].split("/")[2] for o in keys.get("Contents", [])} == {"elsewhere"}
    assert find_pool(session, "demo") is None


def test_teardown_removes_pools_their_addresses_and_alarms(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    pool = make_pool(session, said)
    # What CloudFormation makes on AWS and moto's does not: a tagged address, the alarm.
    tags = [{"Key": TAG_MANAGED, "Value": "true"}, {"Key": TAG_POOL, "Value": "demo"}]
    ec2 = session.client("ec2")
    tagged = ec2.allocate_address(
        Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": tags}]
    )["AllocationId"]
    put_recovery_alarm(session, "demo")
    kinds = {r.kind for r in take_inventory(session).resources}
    assert {"alarm", "elastic-ip", "stack", "instance"} <= kinds
    said.clear()
    left = teardown(session, said.append, poll=0.01, timeout=30)
    assert left.empty, left.lines()
    assert f"Deleting pool stack {pool.stack_name}..." in said
    assert said.index(f"Deleting pool stack {pool.stack_name}...") < said.index(
        f"Deleting stack {naming.stack_name(REGION)}..."
    )
    assert tagged not in {a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]}


def test_bad_input_is_one_line_and_creates_nothing(
    session: Any, said: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    control, worker, _ = images(session)

    def create(name: str, *extra: str, control: str = control, worker: str = worker) -> list[str]:
        return [
            "pool", "create", name, "--control-image", control, "--worker-image", worker,
            "--yes", *extra,
        ]  # fmt: skip

    def one_line_error(argv: list[str], needle: str) -> None:
        capsys.readouterr()
        assert annex(*argv) == 2, argv
        captured = capsys.readouterr()
        # The moto server runs in this process, and its access log goes to stderr too.
        lines = [line for line in captured.err.splitlines() if not MOTO_LOG.match(line)]
        assert len(lines) == 1, captured.err
        assert needle in lines[0], lines[0]

    one_line_error(create("demo", "--admin-cidr", ADMIN), "not set up in us-east-1")
    assert take_inventory(session).empty

    setup(session, said.append, poll=0.01)
    make_pool(session, said, "taken")
    before = take_inventory(session).resources
    cases = [
        (create("bad_name", "--admin-cidr", ADMIN), "pool name 'bad_name' may hold only"),
        (create("x" * 33, "--admin-cidr", ADMIN), "pool name is 33 characters long"),
        (create("demo"), "give --admin-cidr"),
        (create("demo", "--admin-cidr", "10.0.0.1/24"), "not an IPv4 network"),
        (create("demo", "--admin-cidr", "lan"), "not an IPv4 network"),
        (create("demo", "--admin-cidr", WORLD), "whole internet"),
        (
            create("demo", "--admin-cidr", ADMIN, control="ami-00000000"),
            "image ami-00000000 does not exist in this region; check --control-image",
        ),
        (
            create("demo", "--admin-cidr", ADMIN, worker="ami-00000000"),
            "check --worker-image",
        ),
        (create("demo", "--admin-cidr", ADMIN, "--key-name", "nope"), "check --key-name"),
        (
            create(
                "demo",
                "--admin-cidr",
                ADMIN,
                "--instance-policy",
                "arn:aws:iam::123456789012:policy/nope",
            ),
            "does not exist; check --instance-policy",
        ),
        (create("taken", "--admin-cidr", ADMIN), "pool 'taken' already exists"),
        (["pool", "update", "nope", "--worker-image", worker], "there is no pool 'nope'"),
        (["pool", "update", "taken"], "give --worker-image and/or --control-image"),
        (["pool", "update", "taken", "--worker-image", "ami-00000000"], "check --worker-image"),
        (["pool", "delete", "nope", "--yes"], "there is no pool 'nope'"),
        (["pool", "delete", "bad_name", "--yes"], "pool name 'bad_name'"),
    ]
    for argv, needle in cases:
        one_line_error(argv, needle)
    assert take_inventory(session).resources == before
    assert find_pool(session, "taken") is not None
