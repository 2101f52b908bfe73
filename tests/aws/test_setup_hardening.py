"""Issue 9's findings in the templates, checked on what setup makes in moto and on the
template text where moto cannot show it (it ignores bucket policies in templates and
evaluates no IAM condition): explicit denies no --instance-policy can undo, the reaper's
tagging right and its errors alarm, the builders' own security group, the IPv6 metadata
endpoint off, the access log, and pool.yaml's checked policy ARN, quoted heredoc and
encrypted seed volume."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from condor_annex.providers.aws import SetupRecord, check_setup, setup
from condor_annex.providers.aws.account import guardrails
from condor_annex.providers.aws.account.guardrails import policy_document
from condor_annex.providers.aws.annexes.provider import METADATA_OPTIONS
from condor_annex.providers.aws.reaper import TAG_ENDED_BY, TAG_MANAGED

from .test_templates import TEMPLATES


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags kept as {"!Tag": value}."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {f"!{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tagged)


def template(name: str) -> dict[str, Any]:
    return yaml.load((TEMPLATES / name).read_text(), Loader=_CfnLoader)  # noqa: S506


def statements(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {st.get("Sid", ""): st for st in doc["Statement"]}


def _managed_policy(session: Any, arn: str) -> dict[str, Any]:
    iam = session.client("iam")
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    raw = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
    return policy_document(raw["Document"])


def test_worker_boundary_denies_what_an_instance_policy_could_add(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    """Every annex role carries the boundary (test_provider checks), so its denies hold
    whatever policy is attached besides."""
    doc = statements(_managed_policy(session, record.worker_boundary_arn))
    allow = doc["WhatTheRolesPoliciesAllowButIam"]
    assert (allow["Effect"], allow["NotAction"], allow["Resource"]) == ("Allow", "iam:*", "*")
    assert doc["NoIam"]["Effect"] == "Deny" and doc["NoIam"]["Action"] == "iam:*"
    tags = doc["NoToolTags"]
    assert tags["Effect"] == "Deny" and "ec2:CreateTags" in tags["Action"]
    assert tags["Condition"] == {"ForAnyValue:StringLike": {"aws:TagKeys": "condor-annex:*"}}
    writes = doc["NoOtherConfigurationObjects"]
    assert (writes["Effect"], writes["NotAction"]) == ("Deny", "s3:GetObject")
    bucket = f"arn:aws:s3:::{record.bucket}"
    assert writes["Resource"] == [bucket, f"{bucket}/*"]
    assert doc["NoInstanceChanges"]["Effect"] == "Deny"

    # A boundary without its denies is caught by check-setup.
    iam = session.client("iam")
    allow_only = {"Version": "2012-10-17", "Statement": [allow]}
    iam.create_policy_version(
        PolicyArn=record.worker_boundary_arn,
        PolicyDocument=json.dumps(allow_only),
        SetAsDefault=True,
    )
    said.clear()
    bad = [r for r in check_setup(session, said.append) if not r.ok]
    assert [r.part for r in bad] == ["worker boundary"]
    assert "lacks its explicit denies (NoIam, NoInstanceChanges" in " ".join(said)


def test_bucket_policy_confines_workers_to_their_own_prefix(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    s3 = session.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=record.bucket)["Policy"])
    have = statements(policy)
    own = have["WorkersGetOnlyTheirOwnAnnex"]
    assert (own["Effect"], own["Action"]) == ("Deny", "s3:GetObject")
    assert own["NotResource"] == (
        f"arn:aws:s3:::{record.bucket}/annexes/${{aws:PrincipalTag/condor-annex:pool}}"
        "/${aws:PrincipalTag/condor-annex:annex}/*"
    )
    assert own["Condition"] == {"Null": {"aws:PrincipalTag/condor-annex:annex": "false"}}
    assert have["WorkersReadOnlyTheirOwnAnnex"]["NotAction"] == "s3:GetObject"

    # The template states the very statements setup restores (moto ignores the template's).
    shipped = template("account.yaml")["Resources"]["ConfigBucketPolicy"]["Properties"]
    shipped_sids = [st["Sid"] for st in shipped["PolicyDocument"]["Statement"]]
    wanted = guardrails.bucket_policy_statements("aws", record.bucket)
    assert shipped_sids == [st["Sid"] for st in wanted]
    for st in shipped["PolicyDocument"]["Statement"]:
        mine = next(w for w in wanted if w["Sid"] == st["Sid"])
        plain = {k: v for k, v in st.items() if k not in ("Resource", "NotResource")}
        assert plain == {k: v for k, v in mine.items() if k not in ("Resource", "NotResource")}

    # Lost statements are caught, and setup puts them back.
    policy["Statement"] = [st for st in policy["Statement"] if not st["Sid"].startswith("Workers")]
    s3.put_bucket_policy(Bucket=record.bucket, Policy=json.dumps(policy))
    said.clear()
    bad = [r for r in check_setup(session, said.append) if not r.ok]
    assert [r.part for r in bad] == ["configuration bucket"]
    assert "does not confine workers to their own annex" in " ".join(said)
    setup(session, said.append, poll=0.01)
    assert all(r.ok for r in check_setup(session, said.append))


def test_reaper_may_tag_what_it_ends_and_its_errors_raise_an_alarm(
    session: Any, record: SetupRecord
) -> None:
    iam = session.client("iam")
    (name,) = iam.list_role_policies(RoleName=record.reaper_role_name)["PolicyNames"]
    doc = statements(
        policy_document(
            iam.get_role_policy(RoleName=record.reaper_role_name, PolicyName=name)["PolicyDocument"]
        )
    )
    tag = doc["MarkWhatItEnds"]
    assert tag["Action"] == "ec2:CreateTags"
    assert tag["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/{TAG_MANAGED}": "true"},
        "ForAllValues:StringEquals": {"aws:TagKeys": TAG_ENDED_BY},  # the reaper's one tag
    }
    # moto's CloudFormation makes no alarms: the template says what AWS makes.
    alarm = template("account.yaml")["Resources"]["ReaperErrorsAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"!Ref": "ReaperFunction"}}]
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_builders_have_their_own_group_and_no_instance_reaches_ipv6_metadata(
    session: Any, record: SetupRecord
) -> None:
    assert record.builder_security_group_id
    assert record.builder_security_group_id != record.security_group_id
    ec2 = session.client("ec2")
    (group,) = ec2.describe_security_groups(GroupIds=[record.builder_security_group_id])[
        "SecurityGroups"
    ]
    assert group["GroupName"] == "condor-annex-image-builders"
    assert group["IpPermissions"] == []
    (version,) = ec2.describe_launch_template_versions(
        LaunchTemplateId=record.launch_template_id, Versions=["$Default"]
    )["LaunchTemplateVersions"]
    assert version["LaunchTemplateData"]["MetadataOptions"]["HttpProtocolIpv6"] == "disabled"
    assert METADATA_OPTIONS["HttpProtocolIpv6"] == "disabled"
    seed = template("pool.yaml")["Resources"]["Seed"]["Properties"]
    assert seed["MetadataOptions"]["HttpProtocolIpv6"] == "disabled"


def test_configuration_bucket_access_is_logged() -> None:
    resources = template("account.yaml")["Resources"]
    logging = resources["ConfigBucket"]["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"!Ref": "AccessLogBucket"}
    logs = resources["AccessLogBucket"]["Properties"]
    assert logs["BucketName"]["!Sub"].startswith("condor-annex-")  # teardown empties it
    assert logs["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True


def test_pool_template_checks_the_policy_arn_and_quotes_the_seed_config() -> None:
    pool = template("pool.yaml")
    pattern = pool["Parameters"]["InstancePolicyArn"]["AllowedPattern"]
    for good in (
        "",
        "arn:aws:iam::123456789012:policy/jobs/ReadInputs",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    ):
        assert re.fullmatch(pattern, good), good
    for bad in ("x\nANNEX_DEFAULT_POOL = local", "arn:aws:iam::123456789012:policy/$(reboot)", "*"):
        assert not re.fullmatch(pattern, bad), bad
    user_data = pool["Resources"]["Seed"]["Properties"]["UserData"]["Fn::Base64"]["!Sub"]
    assert "<<'CONFIG'" in user_data and "<<CONFIG" not in user_data
    config = user_data.split("<<'CONFIG'\n", 1)[1].split("\nCONFIG", 1)[0]
    assert "$hook" not in config and "$(" not in config.replace("${", "")

    (volume,) = pool["Resources"]["Seed"]["Properties"]["BlockDeviceMappings"]
    assert volume["Ebs"]["Encrypted"] is True
    assert volume["DeviceName"] == {"!Ref": "ControlNodeRootDevice"}
