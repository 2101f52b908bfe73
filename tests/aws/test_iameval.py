"""The IAM evaluator's semantics, pinned on small policies, then used on the real templates."""

from __future__ import annotations

from typing import Any

import pytest

from .iameval import Request, evaluate, load_template, resolve, role_policies

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = f"condor-annex-{ACCOUNT}-{REGION}"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT}


def doc(*statements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Version": "2012-10-17", "Statement": list(statements)}]


def allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", **extra}


def get(resource: str = "arn:aws:s3:::b/k", **context: Any) -> Request:
    return Request("s3:GetObject", resource, context)


def when(condition: dict[str, Any], **context: Any) -> str:
    """The verdict of one Allow of s3:GetObject carrying condition, in this context."""
    return evaluate(doc(allow(Condition=condition)), get(**context))


# --- Effect, Action, Resource -------------------------------------------------------------

def test_explicit_deny_beats_allow_in_any_order_and_nothing_is_implicit_deny() -> None:
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    assert evaluate(doc(allow(), deny), get()) == "deny"
    assert evaluate(doc(deny) + doc(allow()), get()) == "deny"
    assert evaluate(doc(allow()), get()) == "allow"
    assert evaluate(doc(allow()), Request("s3:PutObject", "arn:aws:s3:::b/k")) == "implicit-deny"
    assert evaluate([], get()) == "implicit-deny"


def test_action_wildcards_are_case_insensitive() -> None:
    policy = doc({"Effect": "Allow", "Action": ["ec2:Describe*", "iam:?etRole"], "Resource": "*"})
    assert evaluate(policy, Request("EC2:describeinstances", "*")) == "allow"
    assert evaluate(policy, Request("iam:GetRole", "*")) == "allow"
    assert evaluate(policy, Request("iam:GetRolePolicy", "*")) == "implicit-deny"
    assert evaluate(policy, Request("ec2:RunInstances", "*")) == "implicit-deny"


def test_not_action_applies_to_every_other_action() -> None:
    policy = doc({"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}, allow(),
                 allow(Action="s3:PutObject"))
    assert evaluate(policy, get()) == "allow"
    assert evaluate(policy, Request("s3:PutObject", "arn:aws:s3:::b/k")) == "deny"


def test_resource_wildcards_are_case_sensitive_and_stay_in_their_arn_segment() -> None:
    policy = doc(allow(Resource=["arn:aws:s3:::b/annexes/*", "arn:aws:ec2:*:1:instance/i-?"]))
    assert evaluate(policy, get("arn:aws:s3:::b/annexes/x/token")) == "allow"
    assert evaluate(policy, get("arn:aws:s3:::b/Annexes/x/token")) == "implicit-deny"
    assert evaluate(policy, get("arn:aws:ec2:us-east-1:1:instance/i-7")) == "allow"
    assert evaluate(policy, get("arn:aws:ec2:us-east-1:1:instance/i-77")) == "implicit-deny"
    # The region's * may not swallow the account segment too.
    assert evaluate(policy, get("arn:aws:ec2:us-east-1:2:x:1:instance/i-7")) == "implicit-deny"


def test_not_resource_applies_to_every_other_resource() -> None:
    policy = doc(allow(), {"Effect": "Deny", "Action": "s3:*",
                           "NotResource": "arn:aws:s3:::b/public/*"})
    assert evaluate(policy, get("arn:aws:s3:::b/public/x")) == "allow"
    assert evaluate(policy, get("arn:aws:s3:::b/private/x")) == "deny"


def test_principal_tag_variable_in_a_resource() -> None:
    policy = doc(allow(Resource="arn:aws:s3:::b/annexes/${aws:PrincipalTag/annex}/*"))
    assert evaluate(policy, get("arn:aws:s3:::b/annexes/foo/t", **{
        "aws:principaltag/ANNEX": "foo"})) == "allow"
    assert evaluate(policy, get("arn:aws:s3:::b/annexes/bar/t", **{
        "aws:PrincipalTag/annex": "foo"})) == "implicit-deny"
    # Untagged: the variable has no value, so the entry matches nothing (not even as "").
    assert evaluate(policy, get("arn:aws:s3:::b/annexes/foo/t")) == "implicit-deny"
    assert evaluate(policy, get("arn:aws:s3:::b/annexes//t")) == "implicit-deny"
    # A tag value is literal text, never a wildcard.
    assert evaluate(policy, get("arn:aws:s3:::b/annexes/foo/t", **{
        "aws:PrincipalTag/annex": "*"})) == "implicit-deny"


def test_variable_escapes_and_defaults() -> None:
    policy = doc(allow(Resource="arn:aws:s3:::b/${*}/${aws:PrincipalTag/t, 'none'}"))
    assert evaluate(policy, get("arn:aws:s3:::b/*/none")) == "allow"
    assert evaluate(policy, get("arn:aws:s3:::b/x/none")) == "implicit-deny"
    assert evaluate(policy, get("arn:aws:s3:::b/*/v", **{"aws:PrincipalTag/t": "v"})) == "allow"


def test_variables_are_literal_text_in_the_old_policy_grammar() -> None:
    old = [{"Version": "2008-10-17",
            "Statement": [allow(Resource="arn:aws:s3:::b/${aws:username}")]}]
    assert evaluate(old, get("arn:aws:s3:::b/${aws:username}", **{"aws:username": "x"})) \
        == "allow"
    assert evaluate(old, get("arn:aws:s3:::b/x", **{"aws:username": "x"})) == "implicit-deny"


def test_unknown_statement_elements_and_operators_raise() -> None:
    with pytest.raises(ValueError, match="Actions"):
        evaluate(doc({"Effect": "Allow", "Actions": "s3:*", "Resource": "*"}), get())
    with pytest.raises(KeyError, match="DateLessThan"):
        when({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}})
    for invalid in ("NullIfExists", "ForAnyValue:Null", "Sometimes:StringEquals"):
        with pytest.raises(KeyError, match=invalid):
            when({invalid: {"k:a": "true"}})
    with pytest.raises(ValueError, match="ForAllValues"):
        when({"StringEquals": {"aws:TagKeys": "a"}}, **{"aws:TagKeys": ["a", "b"]})


# --- Condition operators ------------------------------------------------------------------

@pytest.mark.parametrize(("operator", "policy", "request_value", "verdict"), [
    ("StringEquals", "Foo", "Foo", "allow"),
    ("StringEquals", "Foo", "foo", "implicit-deny"),
    ("StringEquals", "F*", "Foo", "implicit-deny"),  # no wildcards in Equals
    ("StringNotEquals", "Foo", "Bar", "allow"),
    ("StringNotEquals", "Foo", "Foo", "implicit-deny"),
    ("StringEqualsIgnoreCase", "Foo", "fOO", "allow"),
    ("StringEqualsIgnoreCase", "Foo", "Fo", "implicit-deny"),
    ("StringLike", "annexes/*", "annexes/a/b", "allow"),
    ("StringLike", "?*", "", "implicit-deny"),
    ("StringLike", "?*", "a", "allow"),
    ("StringNotLike", "condor-annex:*", "other", "allow"),
    ("StringNotLike", "condor-annex:*", "condor-annex:pool", "implicit-deny"),
    ("ArnEquals", "arn:aws:iam::1:policy/*", "arn:aws:iam::1:policy/p", "allow"),
    ("ArnLike", "arn:aws:iam::*:policy/p", "arn:aws:iam::2:policy/p", "allow"),
    ("ArnLike", "arn:aws:iam::*:policy/p", "arn:aws:iam::2:x:policy/p", "implicit-deny"),
    ("ArnNotEquals", "arn:aws:iam::1:policy/p", "arn:aws:iam::1:policy/q", "allow"),
    ("ArnNotLike", "arn:aws:iam::1:policy/*", "arn:aws:iam::1:policy/q", "implicit-deny"),
    ("Bool", True, "true", "allow"),  # a YAML boolean in the template
    ("Bool", "false", "true", "implicit-deny"),
    ("NumericLessThan", 10, "9", "allow"),
    ("NumericLessThan", "10", "10", "implicit-deny"),
    ("NumericLessThanEquals", "10", "10", "allow"),
    ("NumericGreaterThan", "10", "10.5", "allow"),
    ("NumericGreaterThan", "10", "10", "implicit-deny"),
    ("NumericGreaterThanEquals", "10", "10", "allow"),
    ("NumericGreaterThanEquals", "10", "9", "implicit-deny"),
])
def test_each_operator(operator: str, policy: Any, request_value: str, verdict: str) -> None:
    assert when({operator: {"k:key": policy}}, **{"k:Key": request_value}) == verdict


@pytest.mark.parametrize(("operator", "verdict"), [
    ("StringEquals", "implicit-deny"),
    ("StringLike", "implicit-deny"),
    ("ArnLike", "implicit-deny"),
    ("Bool", "implicit-deny"),
    ("NumericLessThan", "implicit-deny"),
    # The guide: a negated operator whose key is absent holds ("the key is not X").
    ("StringNotEquals", "allow"),
    ("StringNotLike", "allow"),
    ("ArnNotLike", "allow"),
    ("StringEqualsIfExists", "allow"),
    ("StringNotEqualsIfExists", "allow"),
    ("ForAllValues:StringEquals", "allow"),
    ("ForAllValues:StringNotLike", "allow"),
    ("ForAnyValue:StringEquals", "implicit-deny"),
    ("ForAnyValue:StringNotLike", "implicit-deny"),
])
def test_an_absent_key(operator: str, verdict: str) -> None:
    assert when({operator: {"k:absent": "1"}}, **{"k:other": "1"}) == verdict


def test_if_exists_still_tests_a_present_key() -> None:
    assert when({"StringEqualsIfExists": {"k:a": "x"}}, **{"k:a": "x"}) == "allow"
    assert when({"StringEqualsIfExists": {"k:a": "x"}}, **{"k:a": "y"}) == "implicit-deny"


def test_for_all_values_needs_every_request_value_to_match_some_policy_value() -> None:
    condition = {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}
    assert when(condition, **{"aws:TagKeys": ["a", "b"]}) == "allow"
    assert when(condition, **{"aws:TagKeys": ["a"]}) == "allow"
    assert when(condition, **{"aws:TagKeys": []}) == "allow"  # an empty set: vacuously
    assert when(condition, **{"aws:TagKeys": ["a", "c"]}) == "implicit-deny"


def test_for_any_value_needs_one_request_value_to_match() -> None:
    condition = {"ForAnyValue:StringLike": {"aws:TagKeys": "condor-annex:*"}}
    assert when(condition, **{"aws:TagKeys": ["Name", "condor-annex:pool"]}) == "allow"
    assert when(condition, **{"aws:TagKeys": ["Name"]}) == "implicit-deny"
    assert when(condition, **{"aws:TagKeys": []}) == "implicit-deny"


def test_null_true_means_absent_and_false_means_present() -> None:
    assert when({"Null": {"k:a": "true"}}) == "allow"
    assert when({"Null": {"k:a": "true"}}, **{"k:a": "x"}) == "implicit-deny"
    assert when({"Null": {"k:a": "false"}}, **{"k:a": "x"}) == "allow"
    assert when({"Null": {"k:a": False}}) == "implicit-deny"
    assert when({"Null": {"aws:TagKeys": "true"}}, **{"aws:TagKeys": []}) == "allow"


def test_several_values_for_one_key_are_ored() -> None:
    condition = {"StringEquals": {"iam:AWSServiceName": ["spot.amazonaws.com", "ec2fleet"]}}
    assert when(condition, **{"iam:AWSServiceName": "spot.amazonaws.com"}) == "allow"
    assert when(condition, **{"iam:AWSServiceName": "ec2fleet"}) == "allow"
    assert when(condition, **{"iam:AWSServiceName": "lambda"}) == "implicit-deny"


def test_several_values_for_a_negated_operator_are_nored() -> None:
    condition = {"StringNotEquals": {"k:a": ["x", "y"]}}
    assert when(condition, **{"k:a": "x"}) == "implicit-deny"
    assert when(condition, **{"k:a": "y"}) == "implicit-deny"
    assert when(condition, **{"k:a": "z"}) == "allow"


def test_several_keys_and_several_operators_are_anded() -> None:
    condition = {"StringEquals": {"k:a": "1", "k:b": "2"}, "Bool": {"k:c": "true"}}
    assert when(condition, **{"k:a": "1", "k:b": "2", "k:c": "true"}) == "allow"
    assert when(condition, **{"k:a": "1", "k:b": "3", "k:c": "true"}) == "implicit-deny"
    assert when(condition, **{"k:a": "1", "k:b": "2", "k:c": "false"}) == "implicit-deny"
    assert when(condition, **{"k:a": "1", "k:c": "true"}) == "implicit-deny"


def test_condition_values_take_policy_variables_too() -> None:
    condition = {"StringEquals": {"aws:ResourceTag/annex": "${aws:PrincipalTag/annex}"}}
    tags = {"aws:PrincipalTag/annex": "foo"}
    assert when(condition, **tags, **{"aws:ResourceTag/annex": "foo"}) == "allow"
    assert when(condition, **tags, **{"aws:ResourceTag/annex": "bar"}) == "implicit-deny"


# --- Resolving templates ------------------------------------------------------------------

def test_resolve_handles_each_intrinsic_and_raises_on_anything_unknown() -> None:
    params = {"Name": "n", **PSEUDO}
    node = {
        "Sub": {"Fn::Sub": "a-${Name}-${AWS::Partition}-${!aws:username}-${X.Arn}"},
        "SubMap": {"Fn::Sub": ["${V}/${AWS::Region}", {"V": {"Ref": "Name"}}]},
        "GetAtt": {"Fn::GetAtt": ["X", "Arn"]},
        "If": {"Fn::If": ["Yes", "y", "n"]},
        "Gone": {"Fn::If": ["No", "y", {"Ref": "AWS::NoValue"}]},
        "Join": {"Fn::Join": [",", ["a", {"Ref": "Name"}, {"Ref": "AWS::NoValue"}]]},
    }
    assert resolve(node, params, {"Yes": True, "No": False}, {"X.Arn": "arn:x"}) == {
        "Sub": "a-n-aws-${aws:username}-arn:x", "SubMap": f"n/{REGION}",
        "GetAtt": "arn:x", "If": "y", "Join": "a,n"}
    for unknown in ({"Ref": "Missing"}, {"Fn::Sub": "${Missing}"}, {"Fn::GetAtt": "X.Id"},
                    {"Fn::If": ["Unset", "a", "b"]}, {"Fn::Base64": "x"}):
        with pytest.raises(KeyError):
            resolve(unknown, params, {}, {"X.Arn": "arn:x"})


def worker_policy() -> list[dict[str, Any]]:
    return role_policies(load_template("account.yaml"), "WorkerPolicy", PSEUDO,
                         attributes={"ConfigBucket.Arn": BUCKET_ARN})


def test_account_worker_policy_resolves_fully_and_keeps_the_iam_variable() -> None:
    [document] = worker_policy()

    def intrinsics(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [k for k in node if k == "Ref" or k.startswith("Fn::")]
            return own + [i for v in node.values() for i in intrinsics(v)]
        if isinstance(node, list):
            return [i for v in node for i in intrinsics(v)]
        return ["${!"] if isinstance(node, str) and "${!" in node else []

    assert intrinsics(document) == []
    [read] = [s for s in document["Statement"] if s["Sid"] == "ReadOwnAnnexConfiguration"]
    assert read["Resource"] == (
        f"{BUCKET_ARN}/annexes/${{aws:PrincipalTag/condor-annex:pool}}"
        "/${aws:PrincipalTag/condor-annex:annex}/*"
    )


def test_account_worker_policy_reads_only_its_own_annex() -> None:
    documents = worker_policy()
    tagged = {"aws:PrincipalTag/condor-annex:pool": "p1",
              "aws:PrincipalTag/condor-annex:annex": "foo"}
    assert evaluate(documents, get(f"{BUCKET_ARN}/annexes/p1/foo/token", **tagged)) == "allow"
    assert evaluate(documents, get(f"{BUCKET_ARN}/annexes/p1/foobar/token", **tagged)) \
        == "implicit-deny"
    assert evaluate(documents, get(f"{BUCKET_ARN}/annexes/p1/foo/token")) == "implicit-deny"
    put = Request("s3:PutObject", f"{BUCKET_ARN}/annexes/p1/foo/token", tagged)
    assert evaluate(documents, put) == "implicit-deny"


def seed_policies(instance_policy: str) -> list[dict[str, Any]]:
    params = {**PSEUDO, "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/x/1",
              "PoolName": "p1", "ConfigBucket": BUCKET, "WorkerSecurityGroupId": "sg-1",
              "WorkerPolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/worker",
              "WorkerBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/boundary",
              "ImageOwners": "amazon", "InstancePolicyArn": instance_policy}
    return role_policies(load_template("pool.yaml"), "SeedRole", params,
                         {"HasInstancePolicy": bool(instance_policy)})


def test_pool_seed_role_passes_only_worker_roles_and_only_to_ec2() -> None:
    documents = seed_policies("")
    roles = f"arn:aws:iam::{ACCOUNT}:role/condor-annex/{REGION}"
    to_ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    worker = f"{roles}/pool/p1/condor-annex-{REGION}-a-myannex-0123abcd"
    assert evaluate(documents, Request("iam:PassRole", worker, to_ec2)) == "allow"
    assert evaluate(documents, Request("iam:PassRole", f"{roles}/condor-annex-{REGION}-p-p1",
                                       to_ec2)) == "implicit-deny"
    assert evaluate(documents, Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin",
                                       to_ec2)) == "implicit-deny"
    assert evaluate(documents, Request("iam:PassRole", worker, {
        "iam:PassedToService": "lambda.amazonaws.com"})) == "implicit-deny"


def test_pool_seed_role_attaches_the_instance_policy_only_when_given() -> None:
    worker = f"arn:aws:iam::{ACCOUNT}:role/condor-annex/{REGION}/pool/p1/condor-annex-{REGION}-a-x"
    extra = f"arn:aws:iam::{ACCOUNT}:policy/jobs-read"

    def attach(documents: list[dict[str, Any]], policy: str) -> str:
        return evaluate(documents, Request("iam:AttachRolePolicy", worker,
                                           {"iam:PolicyARN": policy}))

    assert attach(seed_policies(extra), extra) == "allow"
    assert attach(seed_policies(""), extra) == "implicit-deny"
    assert attach(seed_policies(""), f"arn:aws:iam::{ACCOUNT}:policy/worker") == "allow"
    assert attach(seed_policies(""), "arn:aws:iam::aws:policy/AdministratorAccess") \
        == "implicit-deny"
