"""The pieces test_policies.py stands on: the IAM action matcher, the operation -> action
mapping, the templates' policies, the HTTP request reader and the call attribution."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from . import policycapture
from .httpoperation import HttpRequest, operation, signing_scope
from .policycheck import (
    Policy,
    action_matches,
    actions_for,
    dropped_handler_actions,
    known,
    on_behalf,
    stack_handler_actions,
    template_policy,
)


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("s3:GetObject", "s3:GetObject", True),
        ("s3:getobject", "S3:GETOBJECT", True),  # IAM actions ignore case
        ("s3:Get*", "s3:GetObject", True),
        ("s3:Get*", "s3:PutObject", False),
        ("s3:Get", "s3:GetObject", False),  # no prefix match without a wildcard
        ("*", "iam:PassRole", True),
        ("iam:*", "iam:PassRole", True),
        ("iam:*", "ec2:RunInstances", False),
        ("ec2:?unInstances", "ec2:RunInstances", True),
        ("ec2:?Instances", "ec2:RunInstances", False),  # ? is one character
        ("s3:Get.bject", "s3:GetObject", False),  # a dot is a dot
    ],
)
def test_action_matching(pattern: str, action: str, matches: bool) -> None:
    assert action_matches(pattern, action) is matches


def test_allow_minus_denies_that_hold_everywhere() -> None:
    policy = Policy.of(
        {
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:*", "iam:GetRole"], "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
                # Limited by a resource or a condition: listed, not applied.
                {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"},
                {
                    "Effect": "Deny",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {"Effect": "Deny", "NotAction": "iam:GetRole", "Resource": "*", "Sid": "Only"},
            ]
        }
    )
    assert policy.allows("s3:GetObject") is False  # NotAction iam:GetRole denies it
    assert policy.allows("iam:GetRole") is True
    assert policy.allows("iam:PassRole") is False  # never allowed
    assert len(policy.limited_denies()) == 2
    assert policy.granted() == {"iam:getrole"}


def test_not_action_allow_and_wildcards_expand_over_the_catalogue() -> None:
    policy = Policy.of({"Statement": [{"Effect": "Allow", "Action": "sts:Get*", "Resource": "*"}]})
    granted = policy.granted()
    assert "sts:getcalleridentity" in granted and "sts:getsessiontoken" in granted
    assert all(a.startswith("sts:get") for a in granted)
    everything_but = Policy.of(
        {"Statement": [{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]}
    )
    assert everything_but.allows("ec2:RunInstances") and not everything_but.allows("s3:GetObject")


@pytest.mark.parametrize(
    ("call", "flags", "actions"),
    [
        ("ec2.DescribeInstances", [], {"ec2:DescribeInstances"}),
        ("s3.HeadObject", [], {"s3:GetObject"}),
        ("s3.ListObjectsV2", [], {"s3:ListBucket"}),
        ("s3.DeleteObjects", [], {"s3:DeleteObject"}),
        ("lambda.Invoke", [], {"lambda:InvokeFunction"}),
        ("sts.GetCallerIdentity", [], set()),  # answered for anyone
        ("ec2.RunInstances", [], {"ec2:RunInstances"}),
        (
            "ec2.RunInstances",
            ["IamInstanceProfile", "TagSpecifications"],
            {"ec2:RunInstances", "iam:PassRole", "ec2:CreateTags"},
        ),
        (
            "ec2.CreateFleet",
            ["LaunchTemplateConfigs"],
            {"ec2:CreateFleet", "ec2:RunInstances", "iam:CreateServiceLinkedRole", "iam:PassRole"},
        ),
        ("iam.CreateRole", ["Tags"], {"iam:CreateRole", "iam:TagRole"}),
    ],
)
def test_operations_map_to_iam_actions(call: str, flags: list[str], actions: set[str]) -> None:
    assert actions_for(call, flags) == actions
    assert all(known(a) for a in actions)


def test_an_operation_with_no_action_of_that_name_fails_loudly() -> None:
    with pytest.raises(LookupError, match="OWN_ACTION"):
        actions_for("s3.GetBucketNotificationConfiguration")
    assert not known("s3:HeadObject") and known("s3:GetObject")


def test_stack_changes_carry_cloudformations_handler_permissions() -> None:
    created = on_behalf("cloudformation.CreateStack")
    assert {"s3:CreateBucket", "iam:CreateRole", "iam:PassRole", "lambda:CreateFunction"} <= created
    assert {"ec2:RunInstances", "ec2:AllocateAddress", "cloudwatch:PutMetricAlarm"} <= created
    assert on_behalf("cloudformation.DescribeStacks") == frozenset()
    assert created == stack_handler_actions()
    # Optional extras of other services (S3 Tables, KMS) are dropped, and said to be.
    dropped = dropped_handler_actions()
    assert any(a.startswith("s3tables:") for a in dropped)
    assert not any(a.startswith(("s3tables:", "kms:")) for a in created)


def test_templates_policies_are_read_with_their_intrinsic_functions() -> None:
    reaper = template_policy("account.yaml", "ReaperRole")
    assert reaper.allows("ec2:CreateTags") and reaper.allows("ec2:TerminateInstances")
    assert not reaper.allows("ec2:RunInstances")
    seed = template_policy("pool.yaml", "SeedRole")
    assert seed.allows("iam:PassRole") and seed.allows("iam:AttachRolePolicy")
    assert not seed.allows("iam:PutRolePolicy")
    with pytest.raises(LookupError, match="principal table"):
        template_policy("pool.yaml", "NoSuchRole")


def _request(method: str, url: str, scope: str = "s3", **headers: str) -> HttpRequest:
    auth = f"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/{scope}/aws4_request, x=y"
    return HttpRequest(method, url, {"Host": "127.0.0.1:5000", "Authorization": auth, **headers})


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("HEAD", "/b/annexes/x/token", "HeadObject"),
        ("GET", "/b/annexes/x/token", "GetObject"),
        ("GET", "/b/annexes/x/token?x-id=GetObject", "GetObject"),
        ("PUT", "/b/annexes/x/token", "PutObject"),
        ("GET", "/b?list-type=2&prefix=annexes%2F", "ListObjectsV2"),
        ("GET", "/b", "ListObjects"),
        ("GET", "/", "ListBuckets"),  # not S3 Express's ListDirectoryBuckets
        ("POST", "/b?delete", "DeleteObjects"),
        ("GET", "/b?policy", "GetBucketPolicy"),
        ("PUT", "/b/k?partNumber=1&uploadId=u", "UploadPart"),
    ],
)
def test_s3_requests_are_read_as_their_operations(method: str, url: str, expected: str) -> None:
    request = _request(method, f"http://127.0.0.1:5000{url}")
    assert operation(request, "127.0.0.1:5000") == ("s3", expected)


def test_other_protocols_and_presigned_urls_are_read_too() -> None:
    copy = _request("PUT", "http://127.0.0.1:5000/b/k", **{"x-amz-copy-source": "b/j"})
    assert operation(copy, "127.0.0.1:5000") == ("s3", "CopyObject")
    virtual = _request("GET", "http://b.127.0.0.1:5000/k")
    virtual.headers["Host"] = "b.127.0.0.1:5000"
    assert operation(virtual, "127.0.0.1:5000") == ("s3", "GetObject")
    query = HttpRequest(
        "POST",
        "http://127.0.0.1:5000/",
        _request("POST", "/", scope="ec2").headers,
        b"Action=RunInstances&Version=2016-11-15",
    )
    assert operation(query, "127.0.0.1:5000") == ("ec2", "RunInstances")
    target = _request("POST", "http://127.0.0.1:5000/", scope="monitoring")
    target.headers["X-Amz-Target"] = "GraniteServiceVersion20100801.DescribeAlarms"
    assert operation(target, "127.0.0.1:5000") == ("cloudwatch", "DescribeAlarms")
    url = (
        "http://127.0.0.1:5000/b/images/i/result?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=s"
    )
    presigned = HttpRequest("PUT", url, {"Host": "127.0.0.1:5000"})
    assert presigned.presigned and signing_scope(presigned) == "s3"
    assert operation(presigned, "127.0.0.1:5000") == ("s3", "PutObject")
    with pytest.raises(LookupError, match="unsigned"):
        operation(HttpRequest("GET", "http://127.0.0.1:5000/b/k", {}), "127.0.0.1:5000")


A_TEST = str(Path(__file__).resolve().parent / "test_something.py")


def _stack_of(module: str, function: str, inner: Any, path: str = "<tool>") -> Any:
    """Call `inner` from a frame that looks like `function` in `module` (file `path`)."""
    code = compile(f"def {function}(inner):\n    return inner()\n", path, "exec")
    namespace: dict[str, Any] = {"__name__": module}
    exec(code, namespace)  # noqa: S102 - a fixed two-line function, for a fake stack frame
    return namespace[function](inner)


def here() -> tuple[str, str]:
    return policycapture.attribute(sys._getframe(1))


@pytest.mark.parametrize(
    ("module", "function", "principal"),
    [
        ("condor_annex.providers.aws.reaper", "reap", policycapture.REAPER),
        ("condor_annex.providers.aws.reaper", "delete_prefix", policycapture.OPERATOR),
        ("condor_annex.providers.aws.annexes.provider", "set_lease", policycapture.SEED),
        ("condor_annex.providers.aws.annexes.options", "aws_provider", policycapture.SEED),
        ("condor_annex.providers.aws.pools.poolstack", "create_pool", policycapture.OPERATOR),
    ],
)
def test_calls_are_attributed_by_the_code_on_the_stack(
    module: str, function: str, principal: str
) -> None:
    assert _stack_of(module, function, here)[0] == principal


def test_test_code_is_told_by_its_file_not_its_module_name() -> None:
    """pytest imports tests/aws/test_x.py as `aws.test_x` (tests/ is no package)."""
    assert _stack_of("aws.test_something", "helper", here, A_TEST) == (policycapture.HARNESS, "")
    assert __name__.split(".")[0] != "condor_annex"


def test_a_tests_callback_run_by_the_tools_code_is_the_harness() -> None:
    """wait_for(lambda: ec2.describe_instances(...)) in a test is the test's own call."""
    found = _stack_of(
        "condor_annex.waiting", "wait_for", lambda: _stack_of("aws.test_x", "cb", here, A_TEST)
    )
    assert found == (policycapture.HARNESS, "")


def test_the_innermost_module_is_noted_and_the_reaper_wins_over_a_helper() -> None:
    inner = _stack_of("condor_annex.providers.aws.reaper", "delete_prefix", here)
    assert inner == (policycapture.OPERATOR, "condor_annex.providers.aws.reaper")
    outer = _stack_of(
        "condor_annex.providers.aws.reaper",
        "reap",
        lambda: _stack_of("condor_annex.providers.aws.reaper", "delete_prefix", here),
    )
    assert outer == (policycapture.REAPER, "condor_annex.providers.aws.reaper")
