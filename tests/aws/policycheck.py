"""Judging recorded AWS operations against IAM policies, at the level of actions.

- `actions_for(call, flags)`: the IAM actions AWS authorises for one botocore operation:
  its own action (mostly `prefix:Operation`; S3 and a few others differ, see OWN_ACTION)
  and those its parameters add (IMPLIED: a role passed, tags on create...). Every action
  must exist in the catalogue of IAM actions that cfn-lint ships (from AWS's Service
  Authorization Reference), so a wrong mapping fails instead of passing silently.
- `Policy`: a policy's statements, with an action matcher (`*` and `?`, any case, Action
  and NotAction). An action is allowed when an Allow statement names it and no Deny that
  holds everywhere (Resource "*", no Condition) names it.

What this cannot judge, and says so: Conditions and Resources. An Allow counts whatever
its Condition or Resource (so "allowed" means "allowed for some resource, under some
condition"), and a Deny limited by either is listed, not applied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint.data.AdditionalSpecs
import cfnlint.data.schemas
from cfnlint.decode import cfn_yaml

TEMPLATES = Path(__file__).resolve().parents[2] / "src/condor_annex/providers/aws/templates"

# botocore service name -> IAM prefix, where they differ.
PREFIX = {"stepfunctions": "states", "elbv2": "elasticloadbalancing"}
# Operations whose IAM action is not `prefix:Operation` (Service Authorization Reference).
OWN_ACTION = {
    "s3.HeadObject": "s3:GetObject",
    "s3.HeadBucket": "s3:ListBucket",
    "s3.ListObjects": "s3:ListBucket",
    "s3.ListObjectsV2": "s3:ListBucket",
    "s3.ListObjectVersions": "s3:ListBucketVersions",
    "s3.ListBuckets": "s3:ListAllMyBuckets",
    "s3.DeleteObjects": "s3:DeleteObject",
    "s3.CopyObject": "s3:PutObject",
    "s3.CreateMultipartUpload": "s3:PutObject",
    "s3.UploadPart": "s3:PutObject",
    "s3.CompleteMultipartUpload": "s3:PutObject",
    "s3.GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3.PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3.DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3.GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3.PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3.DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3.GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "s3.PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "s3.DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "s3.DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "s3.DeleteBucketTagging": "s3:PutBucketTagging",
    "lambda.Invoke": "lambda:InvokeFunction",
}
# Operations AWS answers for any caller, whatever its policies say.
NO_PERMISSION = frozenset({"sts.GetCallerIdentity"})
# Actions AWS also authorises when a parameter is given (recorded as a flag), or always
# ("" flag). From the Service Authorization Reference's dependent actions and the services'
# guides: launching with a role passes it; tags on create are authorised as CreateTags
# (EC2) or Tag* (IAM); an instant fleet launches through RunInstances and creates its
# service-linked role on first use; a copy reads its source. A stack's own tags are
# counted as TagResource, to be safe (the reference is not clear on it).
IMPLIED: dict[tuple[str, str], frozenset[str]] = {
    ("ec2.RunInstances", "IamInstanceProfile"): frozenset({"iam:PassRole"}),
    ("ec2.RunInstances", "TagSpecifications"): frozenset({"ec2:CreateTags"}),
    ("ec2.CreateFleet", ""): frozenset({"ec2:RunInstances", "iam:CreateServiceLinkedRole"}),
    ("ec2.CreateFleet", "LaunchTemplateConfigs"): frozenset({"iam:PassRole"}),
    ("ec2.CreateFleet", "TagSpecifications"): frozenset({"ec2:CreateTags"}),
    ("ec2.CreateSecurityGroup", "TagSpecifications"): frozenset({"ec2:CreateTags"}),
    ("ec2.CreateImage", "TagSpecifications"): frozenset({"ec2:CreateTags"}),
    ("iam.CreateRole", "Tags"): frozenset({"iam:TagRole"}),
    ("iam.CreateInstanceProfile", "Tags"): frozenset({"iam:TagInstanceProfile"}),
    ("iam.CreatePolicy", "Tags"): frozenset({"iam:TagPolicy"}),
    ("s3.PutObject", "Tagging"): frozenset({"s3:PutObjectTagging"}),
    ("s3.CopyObject", "CopySource"): frozenset({"s3:GetObject"}),
    ("cloudformation.CreateStack", "Tags"): frozenset({"cloudformation:TagResource"}),
    ("cloudformation.UpdateStack", "Tags"): frozenset({"cloudformation:TagResource"}),
}
# Stack operations after which CloudFormation calls each resource type's handlers with
# the caller's own permissions (the tool passes no service role): creating can roll back
# (delete), updating can create, replace and delete.
STACK_CHANGES = frozenset(
    {
        "cloudformation.CreateStack",
        "cloudformation.UpdateStack",
        "cloudformation.ExecuteChangeSet",
        "cloudformation.DeleteStack",
        "cloudformation.ContinueUpdateRollback",
        "cloudformation.CancelUpdateStack",
        "cloudformation.RollbackStack",
    }
)
HANDLERS = ("create", "read", "update", "delete")


@cache
def catalogue() -> dict[str, frozenset[str]]:
    """IAM prefix -> its actions, lower case (cfn-lint's copy of AWS's reference)."""
    path = Path(cfnlint.data.AdditionalSpecs.__file__).parent / "Policies.json"
    data = json.loads(path.read_text())
    return {prefix: frozenset(entry.get("Actions", {})) for prefix, entry in data.items()}


def known(action: str) -> bool:
    prefix, _, name = action.partition(":")
    return name.lower() in catalogue().get(prefix.lower(), frozenset())


def own_action(call: str) -> str:
    service, _, operation = call.partition(".")
    action = OWN_ACTION.get(call, f"{PREFIX.get(service, service)}:{operation}")
    if not known(action):
        raise LookupError(f"{call} maps to {action}, which is no IAM action: add it to OWN_ACTION")
    return action


def actions_for(call: str, flags: Iterable[str] = ()) -> frozenset[str]:
    """Every IAM action AWS authorises for `call` with these parameters given."""
    if call in NO_PERMISSION:
        return frozenset()
    found = {own_action(call)}
    for flag in ("", *flags):
        found |= IMPLIED.get((call, flag), frozenset())
    unknown = sorted(a for a in found if not known(a))
    if unknown:
        raise LookupError(f"{call} implies {unknown}, which are no IAM actions")
    return frozenset(found)


def on_behalf(call: str) -> frozenset[str]:
    """What CloudFormation then does with the caller's permissions (its resource handlers)."""
    return stack_handler_actions() if call in STACK_CHANGES else frozenset()


# -- CloudFormation ------------------------------------------------------------------------
def template(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = cfn_yaml.loads((TEMPLATES / name).read_text())
    return loaded


def tool_templates() -> list[str]:
    return sorted(p.name for p in TEMPLATES.glob("*.yaml"))


def resource_types() -> set[str]:
    """Every resource type of the stacks the tool makes."""
    return {
        str(res["Type"])
        for name in tool_templates()
        for res in template(name).get("Resources", {}).values()
    }


def handler_permissions(resource_type: str, handler: str) -> frozenset[str]:
    """What CloudFormation's handler for `resource_type` may call (the registry schema)."""
    schemas = Path(cfnlint.data.schemas.__file__).parent
    digest = json.loads((schemas / "providers/us-east-1.json").read_text())[resource_type]
    schema_path = schemas / "resources" / f"{digest}.json"
    schema = json.loads(schema_path.read_text())
    permissions = schema.get("handlers", {}).get(handler, {}).get("permissions", [])
    return frozenset(permissions)


def _service_of(resource_type: str) -> str:
    return resource_type.split("::")[1].lower()  # AWS::S3::Bucket -> s3


@cache
def stack_handler_actions() -> frozenset[str]:
    """What CloudFormation may do with the caller's permissions for the tool's stacks.

    Only actions of the resources' own services, and iam (roles passed): the handlers
    also list what optional properties need (S3 Tables for a bucket, KMS for a customer
    key, VPC calls for a function in a VPC), which these templates never set;
    `dropped_handler_actions` says which.
    """
    return frozenset(a for a in _handler_actions() if _kept(a))


def dropped_handler_actions() -> frozenset[str]:
    return frozenset(a for a in _handler_actions() if not _kept(a))


@cache
def _handler_actions() -> frozenset[str]:
    found: set[str] = set()
    for resource_type in resource_types():
        for handler in HANDLERS:
            found |= handler_permissions(resource_type, handler)
    return frozenset(found)


def _kept(action: str) -> bool:
    services = {_service_of(t) for t in resource_types()} | {"iam"}
    return known(action) and action.partition(":")[0].lower() in services


# -- policies ------------------------------------------------------------------------------
def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@cache
def _pattern(text: str) -> re.Pattern[str]:
    escaped = re.escape(text).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(f"^{escaped}$", re.IGNORECASE)


def action_matches(pattern: str, action: str) -> bool:
    """IAM's action matching: `*` any run, `?` one character, case-insensitive."""
    return bool(_pattern(pattern).match(action))


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[Any, ...]
    not_resources: tuple[Any, ...]
    condition: Any
    sid: str = ""

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Statement:
        return cls(
            effect=str(raw["Effect"]),
            actions=tuple(str(a) for a in _as_list(raw.get("Action"))),
            not_actions=tuple(str(a) for a in _as_list(raw.get("NotAction"))),
            resources=tuple(_as_list(raw.get("Resource"))),
            not_resources=tuple(_as_list(raw.get("NotResource"))),
            condition=raw.get("Condition"),
            sid=str(raw.get("Sid", "")),
        )

    def names(self, action: str) -> bool:
        if self.not_actions:
            return not any(action_matches(p, action) for p in self.not_actions)
        return any(action_matches(p, action) for p in self.actions)

    @property
    def everywhere(self) -> bool:
        """Unlimited by Condition or Resource: the only Denies this check applies."""
        return not self.condition and not self.not_resources and self.resources == ("*",)


@dataclass
class Policy:
    statements: list[Statement] = field(default_factory=list)

    @classmethod
    def of(cls, *documents: dict[str, Any]) -> Policy:
        return cls(
            [Statement.parse(s) for doc in documents for s in _as_list(doc.get("Statement"))]
        )

    def allows(self, action: str) -> bool:
        allowed = any(s.effect == "Allow" and s.names(action) for s in self.statements)
        denied = any(
            s.effect == "Deny" and s.everywhere and s.names(action) for s in self.statements
        )
        return allowed and not denied

    def limited_denies(self) -> list[Statement]:
        """Denies this check cannot apply (a Condition or Resource limits them)."""
        return [s for s in self.statements if s.effect == "Deny" and not s.everywhere]

    def granted(self) -> set[str]:
        """Every action an Allow names (wildcards expanded over the catalogue), lower case,
        less what a Deny that holds everywhere takes away."""
        found: set[str] = set()
        for s in self.statements:
            if s.effect != "Allow":
                continue
            if s.not_actions or any("*" in a or "?" in a for a in s.actions):
                found |= {a for a in all_actions() if s.names(a)}
            else:
                found |= {a.lower() for a in s.actions}
        return {a for a in found if self.allows(a)}


def all_actions() -> Iterator[str]:
    for prefix, names in catalogue().items():
        for name in names:
            yield f"{prefix}:{name}"


def role_documents(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The permission documents of a template's IAM role or managed policy resource."""
    props = resource["Properties"]
    if resource["Type"] == "AWS::IAM::ManagedPolicy":
        return [props["PolicyDocument"]]
    if resource["Type"] == "AWS::IAM::Role":
        return [p["PolicyDocument"] for p in props.get("Policies", [])]
    raise ValueError(f"{resource['Type']} holds no identity policy")


def template_policy(template_name: str, *logical_ids: str) -> Policy:
    resources = template(template_name)["Resources"]
    missing = [i for i in logical_ids if i not in resources]
    if missing:
        raise LookupError(f"{template_name} has no {missing}: update the principal table")
    return Policy.of(*(d for i in logical_ids for d in role_documents(resources[i])))
