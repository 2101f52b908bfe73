"""Setup makes each part configured as intended, idempotently; check-setup verifies the
configuration and names a fix for each deliberately broken part.

moto's CloudFormation ignores a bucket's PublicAccessBlockConfiguration and the
AWS::S3::BucketPolicy resource (real AWS applies both); setup's guardrail step applies
them directly, so these tests see the same end state real AWS would have.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from condor_annex.errors import UsageError
from condor_annex.providers.aws import SetupRecord, check_setup, find_setup, setup
from condor_annex.providers.aws.account.guardrails import policy_document, policy_problems
from condor_annex.providers.aws.account.stacks import next_action
from condor_annex.providers.aws.reaper import TAG_ANNEX, TAG_MANAGED, TAG_POOL


def test_bucket_is_private_encrypted_and_tls_only(session: Any, record: SetupRecord) -> None:
    s3 = session.client("s3")
    pab = s3.get_public_access_block(Bucket=record.bucket)["PublicAccessBlockConfiguration"]
    assert all(
        pab[k]
        for k in (
            "BlockPublicAcls",
            "IgnorePublicAcls",
            "BlockPublicPolicy",
            "RestrictPublicBuckets",
        )
    )
    enc = s3.get_bucket_encryption(Bucket=record.bucket)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=record.bucket)["Policy"])
    deny = policy["Statement"][0]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=record.bucket)["TagSet"]}
    assert tags[TAG_MANAGED] == "true"
    assert record.bucket.startswith("condor-annex-")


def test_worker_policy_reads_only_the_own_annex(session: Any, record: SetupRecord) -> None:
    iam = session.client("iam")
    policy = iam.get_policy(PolicyArn=record.worker_policy_arn)["Policy"]
    doc = policy_document(
        iam.get_policy_version(
            PolicyArn=record.worker_policy_arn, VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]["Document"]
    )
    (statement,) = [st for st in doc["Statement"] if st["Effect"] == "Allow"]
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == (
        f"arn:aws:s3:::{record.bucket}/annexes/${{aws:PrincipalTag/{TAG_POOL}}}"
        f"/${{aws:PrincipalTag/{TAG_ANNEX}}}/*"
    )


def test_reaper_role_is_least_privilege(session: Any, record: SetupRecord) -> None:
    iam = session.client("iam")
    (name,) = iam.list_role_policies(RoleName=record.reaper_role_name)["PolicyNames"]
    raw = iam.get_role_policy(RoleName=record.reaper_role_name, PolicyName=name)
    doc = policy_document(raw["PolicyDocument"])
    actions = {
        a
        for st in doc["Statement"]
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    }
    assert not any("*" in a for a in actions)
    assert not any(a.startswith("iam:") for a in actions)
    terminate = next(st for st in doc["Statement"] if st["Action"] == "ec2:TerminateInstances")
    assert terminate["Condition"] == {"StringEquals": {f"aws:ResourceTag/{TAG_MANAGED}": "true"}}
    assert (
        policy_problems(
            "reaper", doc, lambda r: record.bucket in r or ":ec2:" in r or ":logs:" in r
        )
        == []
    )
    assert (
        iam.list_attached_role_policies(RoleName=record.reaper_role_name)["AttachedPolicies"] == []
    )


def test_reaper_function_and_schedule(session: Any, record: SetupRecord) -> None:
    lam = session.client("lambda")
    conf = lam.get_function_configuration(FunctionName=record.reaper_function_name)
    assert conf["Runtime"] == "python3.12"
    assert conf["Handler"] == "index.handler"
    assert conf["Environment"]["Variables"]["ANNEX_BUCKET"] == record.bucket
    events = session.client("events")
    rule = events.describe_rule(Name=record.schedule_rule_name)
    assert (rule["State"], rule["ScheduleExpression"]) == ("ENABLED", "rate(1 minute)")
    targets = events.list_targets_by_rule(Rule=record.schedule_rule_name)["Targets"]
    assert [t["Arn"] for t in targets] == [record.reaper_function_arn]
    policy = json.loads(lam.get_policy(FunctionName=record.reaper_function_name)["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}


def test_security_group_and_launch_template(session: Any, record: SetupRecord) -> None:
    ec2 = session.client("ec2")
    (group,) = ec2.describe_security_groups(GroupIds=[record.security_group_id])["SecurityGroups"]
    assert group["IpPermissions"] == []
    assert group["GroupName"] == "condor-annex-workers"
    (version,) = ec2.describe_launch_template_versions(
        LaunchTemplateId=record.launch_template_id, Versions=["$Default"]
    )["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["InstanceInitiatedShutdownBehavior"] == "terminate"
    assert data["SecurityGroupIds"] == [record.security_group_id]


def test_setup_twice_makes_no_duplicates(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    again = setup(session, said.append, poll=0.01)
    assert again == record
    assert "Stack condor-annex-us-east-1 is already up to date." in said
    assert len(session.client("cloudformation").describe_stacks()["Stacks"]) == 1
    buckets = {b["Name"] for b in session.client("s3").list_buckets()["Buckets"]}
    assert buckets == {record.bucket, f"{record.bucket}-logs"}  # and its access log
    assert len(session.client("ec2").describe_launch_templates()["LaunchTemplates"]) == 1
    groups = session.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["condor-annex-workers"]}]
    )["SecurityGroups"]
    assert len(groups) == 1
    assert len(session.client("lambda").list_functions()["Functions"]) == 1
    assert len(session.client("events").list_rules()["Rules"]) == 1
    assert find_setup(session) == record


def test_setup_writes_region_settings_idempotently(session: Any, tmp_path: Path) -> None:
    config = tmp_path / "user_config"
    config.write_text("# mine\nus_east_1.ANNEX_DEFAULT_S3_BUCKET = stale\nOTHER = 1\n")
    record = setup(session, lambda _m: None, config_file=config, poll=0.01)
    setup(session, lambda _m: None, config_file=config, poll=0.01)
    text = config.read_text()
    assert text.startswith("# mine\nOTHER = 1\n")
    assert text.count(f"us_east_1.ANNEX_DEFAULT_S3_BUCKET = {record.bucket}") == 1
    assert "stale" not in text
    assert f"us_east_1.ANNEX_DEFAULT_ODI_SECURITY_GROUP_IDS = {record.security_group_id}" in text
    assert text.count("# condor-annex setup for us-east-1") == 1


def test_create_before_setup_is_a_usage_error(session: Any) -> None:
    with pytest.raises(UsageError, match="not set up in us-east-1; run `annex setup"):
        find_setup(session)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (None, "create"),
        ("CREATE_COMPLETE", "update"),
        ("UPDATE_ROLLBACK_COMPLETE", "update"),
        ("ROLLBACK_COMPLETE", "replace"),
        ("CREATE_FAILED", "replace"),
        ("DELETE_FAILED", "replace"),
        ("UPDATE_ROLLBACK_FAILED", "continue-rollback"),
        ("CREATE_IN_PROGRESS", "wait"),
        ("DELETE_COMPLETE", "create"),
    ],
)
def test_stack_state_decides_the_next_step(status: str | None, action: str) -> None:
    assert next_action(status) == action


def test_setup_replaces_a_failed_stack(session: Any, said: list[str]) -> None:
    """A stack left in ROLLBACK_COMPLETE by an earlier run is deleted and made afresh.

    moto cannot be made to fail a stack create, so a dud stack with the same name stands
    in; its status is forced through moto's backend-neutral API (the stack's own status
    field is all setup looks at).
    """
    cf = session.client("cloudformation")
    dud = (
        '{"Resources": {"Dud": {"Type": "AWS::EC2::KeyPair", '
        '"Properties": {"KeyName": "condor-annex-dud"}}}}'
    )
    cf.create_stack(StackName="condor-annex-us-east-1", TemplateBody=dud)
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends["123456789012"]["us-east-1"]
    (stack,) = [s for s in backend.stacks.values() if s.name == "condor-annex-us-east-1"]
    stack.status = "ROLLBACK_COMPLETE"
    record = setup(session, said.append, poll=0.01)
    assert "Stack condor-annex-us-east-1 is broken; deleting it to start again..." in said
    assert (
        cf.describe_stacks(StackName=record.stack_name)["Stacks"][0]["StackStatus"]
        == "CREATE_COMPLETE"
    )


def test_check_setup_all_ok(session: Any, record: SetupRecord, said: list[str]) -> None:
    said.clear()
    results = check_setup(session, said.append)
    assert all(r.ok for r in results), said
    assert "Checking for configuration bucket... OK." in said
    assert said[-1] == "Your setup looks OK."
    assert len(results) == 9


def test_check_setup_before_setup(session: Any, said: list[str]) -> None:
    (result,) = check_setup(session, said.append)
    assert not result.ok
    assert said[-1] == "  To fix: run `annex setup --provider aws --region us-east-1`."


def _break_and_check(session: Any, said: list[str], part: str) -> list[str]:
    said.clear()
    results = check_setup(session, said.append)
    bad = [r for r in results if not r.ok]
    assert [r.part for r in bad] == [part], said
    return said


def _heal(session: Any, said: list[str]) -> None:
    setup(session, said.append, poll=0.01)
    said.clear()
    assert all(r.ok for r in check_setup(session, said.append)), said


def test_world_open_ingress_is_caught_and_repaired(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    session.client("ec2").authorize_security_group_ingress(
        GroupId=record.security_group_id,
        IpProtocol="tcp",
        FromPort=22,
        ToPort=22,
        CidrIp="0.0.0.0/0",
    )
    lines = _break_and_check(session, said, "worker security group")
    assert (
        "Checking for worker security group... FAILED: inbound tcp port 22 is open to the world."
        in lines
    )
    assert "  To fix: run `annex setup --provider aws --region us-east-1`." in lines
    _heal(session, said)


def test_disabled_schedule_is_caught_and_repaired(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    session.client("events").disable_rule(Name=record.schedule_rule_name)
    lines = _break_and_check(session, said, "reaper schedule")
    assert any("the schedule is disabled" in line for line in lines)
    _heal(session, said)


def test_public_bucket_is_caught_and_repaired(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    session.client("s3").delete_public_access_block(Bucket=record.bucket)
    lines = _break_and_check(session, said, "configuration bucket")
    assert any("public access is not fully blocked" in line for line in lines)
    _heal(session, said)


def test_imdsv1_launch_template_is_caught_and_repaired(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    ec2 = session.client("ec2")
    version = ec2.create_launch_template_version(
        LaunchTemplateId=record.launch_template_id,
        SourceVersion="$Default",
        LaunchTemplateData={"MetadataOptions": {"HttpTokens": "optional"}},
    )["LaunchTemplateVersion"]["VersionNumber"]
    ec2.modify_launch_template(
        LaunchTemplateId=record.launch_template_id, DefaultVersion=str(version)
    )
    lines = _break_and_check(session, said, "worker launch template")
    assert any("does not require IMDSv2" in line for line in lines)
    _heal(session, said)


def test_wildcard_role_policy_is_caught_with_the_exact_command(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    iam = session.client("iam")
    iam.put_role_policy(
        RoleName=record.reaper_role_name,
        PolicyName="too-much",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    lines = _break_and_check(session, said, "reaper role")
    role = record.reaper_role_name
    fix = f"  To fix: run: aws iam delete-role-policy --role-name {role} --policy-name too-much."
    assert fix in lines
    iam.delete_role_policy(RoleName=record.reaper_role_name, PolicyName="too-much")
    said.clear()
    assert all(r.ok for r in check_setup(session, said.append)), said


def test_policy_problems_spots_what_is_wrong() -> None:
    doc = {
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "ec2:TerminateInstances",
                "Resource": "arn:aws:ec2:us-east-1:1:instance/*",
            },
            {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"},
            {"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*"},
        ]
    }
    problems = policy_problems("p", doc, lambda r: r.startswith("arn:aws:ec2:"))
    assert problems == [
        "p allows wildcard actions *",
        "p allows * on every resource",
        "p lets ec2:terminateinstances act on untagged resources",
        "p allows NotAction/NotResource",
    ]
