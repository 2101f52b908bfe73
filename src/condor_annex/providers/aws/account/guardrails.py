"""The security properties of each setup part: checked by check-setup, restored by setup.

check-setup looks at configuration, not at existence: a bucket that is there but public,
a role that can do `*`, a world-open security group or a disabled schedule all fail. A
plain CloudFormation update does not repair such out-of-band changes (it only acts on
template differences), so setup ends by restoring every property it can here; for the
rest the fix line names the exact command. The expected values live here once.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from condor_annex.providers.aws.account.setuprecord import SetupRecord, rebuild_fix, setup_fix
from condor_annex.providers.aws.reaper import TAG_ANNEX, TAG_MANAGED, TAG_POOL

WORKER_TAG = f"aws:PrincipalTag/{TAG_ANNEX}"
# A worker's own objects, as its role's tags (pool id and annex name) name them.
WORKER_PREFIX = f"annexes/${{aws:PrincipalTag/{TAG_POOL}}}/${{{WORKER_TAG}}}/"

WORLD_V4 = "0.0.0.0/0"
WORLD_V6 = "::/0"
SCHEDULE = "rate(1 minute)"
MIN_RUNTIME = (3, 12)
# Describe calls have no resource-level permissions in EC2: "*" is the only resource.
RESOURCELESS_ACTIONS = frozenset(
    {"ec2:describeinstances", "ec2:describefleets", "ec2:describespotfleetrequests"}
)
TAG_SCOPED_ACTIONS = frozenset(
    {"ec2:terminateinstances", "ec2:deletefleets", "ec2:cancelspotfleetrequests"}
)
REAPER_INLINE_POLICY = "condor-annex-reaper"
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ENCRYPTION = {
    "Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
    ]
}


def tls_only_statement(partition: str, bucket: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def worker_confinement_statements(partition: str, bucket: str) -> list[dict[str, Any]]:
    """A worker (a principal tagged with an annex) reads its own annex's objects in the
    configuration bucket and does nothing else there, whatever its role allows."""
    arn = f"arn:{partition}:s3:::{bucket}"
    is_worker = {"Null": {WORKER_TAG: "false"}}
    return [
        {
            "Sid": "WorkersReadOnlyTheirOwnAnnex",
            "Effect": "Deny",
            "Principal": "*",
            "NotAction": "s3:GetObject",
            "Resource": [arn, f"{arn}/*"],
            "Condition": is_worker,
        },
        {
            "Sid": "WorkersGetOnlyTheirOwnAnnex",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "NotResource": f"{arn}/{WORKER_PREFIX}*",
            "Condition": is_worker,
        },
    ]


def bucket_policy_statements(partition: str, bucket: str) -> list[dict[str, Any]]:
    """The configuration bucket's policy, as account.yaml states it."""
    return [
        tls_only_statement(partition, bucket),
        *worker_confinement_statements(partition, bucket),
    ]


# What no --instance-policy may add to a worker: explicit denies in the worker roles'
# permissions boundary.
WORKER_DENIES = {"NoOtherConfigurationObjects", "NoToolTags", "NoInstanceChanges", "NoIam"}


@dataclass(frozen=True)
class CheckResult:
    part: str
    problems: tuple[str, ...] = ()
    fix: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        if self.ok:
            return [f"Checking for {self.part}... OK."]
        return [
            f"Checking for {self.part}... FAILED: {'; '.join(self.problems)}.",
            f"  To fix: {self.fix}.",
        ]


def _aslist(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_document(raw: Any) -> dict[str, Any]:
    """IAM returns policy documents URL-encoded on the wire; boto3 may or may not decode.

    moto returns inline policies made by CloudFormation as a Python repr instead of JSON;
    `ast.literal_eval` reads that (literals only, nothing is executed).
    """
    if isinstance(raw, dict):
        return raw
    text = unquote(raw)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        value = ast.literal_eval(text)
        if not isinstance(value, dict):
            raise
        return value


def policy_problems(
    name: str, document: dict[str, Any], resource_ok: Callable[[str], bool]
) -> list[str]:
    """Wildcard actions, unscoped resources and unconditioned terminations in a policy."""
    problems = []
    for st in _aslist(document.get("Statement", [])):
        if st.get("Effect") != "Allow":
            continue
        if "NotAction" in st or "NotResource" in st:
            problems.append(f"{name} allows NotAction/NotResource")
            continue
        actions = [a.lower() for a in _aslist(st.get("Action", []))]
        resources = _aslist(st.get("Resource", []))
        if any("*" in a for a in actions):
            problems.append(f"{name} allows wildcard actions {', '.join(actions)}")
        for res in resources:
            if res == "*" and not set(actions) <= RESOURCELESS_ACTIONS:
                problems.append(f"{name} allows {', '.join(actions)} on every resource")
            elif res != "*" and not resource_ok(res):
                problems.append(f"{name} allows {', '.join(actions)} on {res}")
        conditions = json.dumps(st.get("Condition", {}))
        if set(actions) & TAG_SCOPED_ACTIONS and f"aws:ResourceTag/{TAG_MANAGED}" not in conditions:
            problems.append(f"{name} lets {', '.join(actions)} act on untagged resources")
    return problems


@dataclass
class Guardrails:
    """Checks and repairs for one region's setup."""

    session: Any
    record: SetupRecord
    say: Callable[[str], None] = field(default=lambda _m: None)

    def __post_init__(self) -> None:
        self.s3 = self.session.client("s3")
        self.iam = self.session.client("iam")
        self.ec2 = self.session.client("ec2")
        self.events = self.session.client("events")
        self.lam = self.session.client("lambda")
        self.rerun = setup_fix(self.record.region)
        self.partition = self.session.get_partition_for_region(self.record.region)

    # -- checks -----------------------------------------------------------------------

    def check_all(self) -> list[CheckResult]:
        return [
            self.check_bucket(),
            self.check_worker_policy(),
            self.check_worker_boundary(),
            self.check_reaper_role(),
            self.check_reaper_function(),
            self.check_schedule(),
            self.check_security_group(),
            self.check_launch_template(),
        ]

    def _guard(self, part: str, fix: str, probe: Callable[[], Iterable[str]]) -> CheckResult:
        try:
            problems = tuple(probe())
        except ClientError as err:
            problems = (f"cannot read it ({err.response['Error'].get('Code', err)})",)
        return CheckResult(part, problems, fix)

    def check_bucket(self) -> CheckResult:
        return self._guard("configuration bucket", self.rerun, self._bucket_problems)

    def _bucket_problems(self) -> Iterator[str]:
        bucket = self.record.bucket
        self.s3.head_bucket(Bucket=bucket)
        try:
            pab = self.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        except ClientError:
            pab = {}
        if any(not pab.get(k) for k in PUBLIC_ACCESS_BLOCK):
            yield "public access is not fully blocked"
        try:
            rules = self.s3.get_bucket_encryption(Bucket=bucket)[
                "ServerSideEncryptionConfiguration"
            ]["Rules"]
        except ClientError:
            rules = []
        if not any(
            r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules
        ):
            yield "default encryption is off"
        if not self._has_tls_only_policy():
            yield "the bucket policy does not refuse plain HTTP"
        if self._missing_confinement():
            yield "the bucket policy does not confine workers to their own annex"

    def _bucket_policy(self) -> dict[str, Any]:
        try:
            return json.loads(self.s3.get_bucket_policy(Bucket=self.record.bucket)["Policy"])
        except ClientError:
            return {"Version": "2012-10-17", "Statement": []}

    def _has_tls_only_policy(self) -> bool:
        for st in _aslist(self._bucket_policy().get("Statement", [])):
            cond = st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
            if st.get("Effect") == "Deny" and str(cond).lower() == "false":
                return True
        return False

    def _missing_confinement(self) -> list[dict[str, Any]]:
        have = _aslist(self._bucket_policy().get("Statement", []))
        wanted = worker_confinement_statements(self.partition, self.record.bucket)
        return [st for st in wanted if st not in have]

    def check_worker_policy(self) -> CheckResult:
        bucket_arn = f"arn:{self.partition}:s3:::{self.record.bucket}"
        prefix = f"{bucket_arn}/{WORKER_PREFIX}"

        def problems() -> list[str]:
            doc = self._managed_policy_document(self.record.worker_policy_arn)
            found = policy_problems("worker policy", doc, lambda r: r.startswith(prefix))
            statements = _aslist(doc.get("Statement", []))
            actions = {
                a.lower()
                for st in statements
                if st.get("Effect") == "Allow"
                for a in _aslist(st.get("Action", []))
            }
            if actions - {"s3:getobject"}:
                found.append(
                    f"worker policy allows more than s3:GetObject ({', '.join(sorted(actions))})"
                )
            return found

        return self._guard("worker policy", rebuild_fix(self.record.region), problems)

    def check_worker_boundary(self) -> CheckResult:
        def problems() -> list[str]:
            doc = self._managed_policy_document(self.record.worker_boundary_arn)
            statements = _aslist(doc.get("Statement", []))
            denies = {st.get("Sid") for st in statements if st.get("Effect") == "Deny"}
            if WORKER_DENIES - denies:
                missing = ", ".join(sorted(WORKER_DENIES - denies))
                return [f"worker boundary lacks its explicit denies ({missing})"]
            return []

        return self._guard("worker boundary", rebuild_fix(self.record.region), problems)

    def _managed_policy_document(self, arn: str) -> dict[str, Any]:
        version = self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        raw = self.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        return policy_document(raw["Document"])

    def check_reaper_role(self) -> CheckResult:
        role = self.record.reaper_role_name
        bucket_arn = f"arn:{self.partition}:s3:::{self.record.bucket}"
        region = self.record.region
        fixes: list[str] = []

        def scoped(res: str) -> bool:
            return (
                res == bucket_arn
                or res.startswith(f"{bucket_arn}/annexes/")
                or res.startswith(f"arn:{self.partition}:ec2:{region}:")
                or res.startswith(f"arn:{self.partition}:logs:{region}:")
            )

        def problems() -> list[str]:
            found: list[str] = []
            for name in self.iam.list_role_policies(RoleName=role)["PolicyNames"]:
                doc = policy_document(
                    self.iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
                )
                bad = policy_problems(f"reaper policy {name}", doc, scoped)
                found += bad
                if bad and name != REAPER_INLINE_POLICY:
                    fixes.append(
                        f"aws iam delete-role-policy --role-name {role} --policy-name {name}"
                    )
            for attached in self.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
                found.append(f"reaper role has an extra policy {attached['PolicyName']} attached")
                arn = attached["PolicyArn"]
                fixes.append(f"aws iam detach-role-policy --role-name {role} --policy-arn {arn}")
            return found

        result = self._guard("reaper role", "", problems)
        fix = "run: " + "; ".join(fixes) if fixes else rebuild_fix(region)
        return CheckResult(result.part, result.problems, fix)

    def check_reaper_function(self) -> CheckResult:
        def problems() -> Iterator[str]:
            conf = self.lam.get_function_configuration(
                FunctionName=self.record.reaper_function_name
            )
            runtime = conf.get("Runtime", "")
            version = tuple(
                int(p) for p in runtime.removeprefix("python").split(".") if p.isdigit()
            )
            if not runtime.startswith("python") or version < MIN_RUNTIME:
                yield f"runtime {runtime or 'unknown'} is not python3.12 or newer"
            env = conf.get("Environment", {}).get("Variables", {})
            if env.get("ANNEX_BUCKET") != self.record.bucket:
                yield "it does not know the configuration bucket (ANNEX_BUCKET)"

        return self._guard("lease reaper function", self.rerun, problems)

    def check_schedule(self) -> CheckResult:
        return self._guard("reaper schedule", self.rerun, self._schedule_problems)

    def _schedule_problems(self) -> Iterator[str]:
        rule = self.events.describe_rule(Name=self.record.schedule_rule_name)
        if rule.get("State") != "ENABLED":
            yield f"the schedule is {rule.get('State', 'missing').lower()}"
        if rule.get("ScheduleExpression") != SCHEDULE:
            yield f"the schedule is {rule.get('ScheduleExpression')}, not {SCHEDULE}"
        targets = self.events.list_targets_by_rule(Rule=self.record.schedule_rule_name)["Targets"]
        if not any(t["Arn"] == self.record.reaper_function_arn for t in targets):
            yield "the schedule does not run the reaper function"
        if not self._schedule_may_invoke(rule["Arn"]):
            yield "the schedule is not allowed to invoke the function"

    def _schedule_may_invoke(self, rule_arn: str) -> bool:
        try:
            policy = json.loads(
                self.lam.get_policy(FunctionName=self.record.reaper_function_name)["Policy"]
            )
        except ClientError:
            return False
        return any(
            st.get("Principal", {}).get("Service") == "events.amazonaws.com"
            and rule_arn in json.dumps(st)
            for st in policy.get("Statement", [])
        )

    def _groups(self) -> list[str]:
        return [
            g for g in (self.record.security_group_id, self.record.builder_security_group_id) if g
        ]

    def check_security_group(self) -> CheckResult:
        def problems() -> Iterator[str]:
            for group in self._groups():
                of = "" if group == self.record.security_group_id else " of the builder group"
                for perm in self._world_ingress(group):
                    ports, proto = perm.get("FromPort", "all"), perm.get("IpProtocol")
                    yield f"inbound {proto} port {ports}{of} is open to the world"

        return self._guard("worker security group", self.rerun, problems)

    def _world_ingress(self, group_id: str) -> list[dict[str, Any]]:
        """Each ingress permission narrowed to its world-open ranges (the revoke payload)."""
        group = self.ec2.describe_security_groups(GroupIds=[group_id])
        world = []
        for perm in group["SecurityGroups"][0].get("IpPermissions", []):
            v4 = [r for r in perm.get("IpRanges", []) if r.get("CidrIp") == WORLD_V4]
            v6 = [r for r in perm.get("Ipv6Ranges", []) if r.get("CidrIpv6") == WORLD_V6]
            if v4 or v6:
                narrowed = {
                    k: v for k, v in perm.items() if k in ("IpProtocol", "FromPort", "ToPort")
                }
                world.append({**narrowed, "IpRanges": v4, "Ipv6Ranges": v6})
        return world

    def check_launch_template(self) -> CheckResult:
        def problems() -> Iterator[str]:
            data = self._default_template_data()
            meta = data.get("MetadataOptions", {})
            if meta.get("HttpTokens") != "required":
                yield "it does not require IMDSv2 (HttpTokens=required)"
            if meta.get("HttpPutResponseHopLimit", 1) > 1:
                yield "its metadata hop limit is above 1"
            if data.get("InstanceInitiatedShutdownBehavior") != "terminate":
                yield "its instances do not terminate on shutdown"

        return self._guard("worker launch template", self.rerun, problems)

    def _default_template_data(self) -> dict[str, Any]:
        versions = self.ec2.describe_launch_template_versions(
            LaunchTemplateId=self.record.launch_template_id, Versions=["$Default"]
        )["LaunchTemplateVersions"]
        return versions[0]["LaunchTemplateData"]

    # -- repairs ----------------------------------------------------------------------

    def repair(self) -> None:
        """Restore every repairable property that is off (no-op when all is well)."""
        if not self.check_bucket().ok:
            self.say("Securing the configuration bucket...")
            bucket = self.record.bucket
            self.s3.put_public_access_block(
                Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
            )
            self.s3.put_bucket_encryption(
                Bucket=bucket, ServerSideEncryptionConfiguration=ENCRYPTION
            )
            missing = self._missing_confinement()
            if not self._has_tls_only_policy():
                missing.insert(0, tls_only_statement(self.partition, bucket))
            if missing:
                policy = self._bucket_policy()
                policy["Statement"] = [*_aslist(policy.get("Statement", [])), *missing]
                self.s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        if not self.check_schedule().ok:
            self.say("Re-enabling the reaper schedule...")
            name = self.record.schedule_rule_name
            rule_arn = self.events.put_rule(
                Name=name, ScheduleExpression=SCHEDULE, State="ENABLED"
            )["RuleArn"]
            self.events.put_targets(
                Rule=name,
                Targets=[{"Id": "condor-annex-reaper", "Arn": self.record.reaper_function_arn}],
            )
            if not self._schedule_may_invoke(rule_arn):
                self.lam.add_permission(
                    FunctionName=self.record.reaper_function_name,
                    StatementId="condor-annex-schedule-repair",
                    Action="lambda:InvokeFunction",
                    Principal="events.amazonaws.com",
                    SourceArn=rule_arn,
                )
        for group in self._groups():
            world = self._world_ingress(group)
            if world:
                self.say(f"Closing world-open inbound rules on security group {group}...")
                self.ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=world)
        if not self.check_launch_template().ok:
            self.say("Making the launch template require IMDSv2 again...")
            data = self._default_template_data()
            meta = {
                **data.get("MetadataOptions", {}),
                "HttpTokens": "required",
                "HttpPutResponseHopLimit": 1,
            }
            meta = {k: v for k, v in meta.items() if k != "State"}
            version = self.ec2.create_launch_template_version(
                LaunchTemplateId=self.record.launch_template_id,
                SourceVersion="$Default",
                VersionDescription="restored by annex setup",
                LaunchTemplateData={
                    "MetadataOptions": meta,
                    "InstanceInitiatedShutdownBehavior": "terminate",
                },
            )["LaunchTemplateVersion"]["VersionNumber"]
            self.ec2.modify_launch_template(
                LaunchTemplateId=self.record.launch_template_id, DefaultVersion=str(version)
            )
