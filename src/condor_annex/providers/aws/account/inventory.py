"""Every kind of AWS resource condor-annex can make in a region, found by tag and by name.

Teardown ends with this list, so "nothing left" is a measured fact, not a hope. Where a
listing call returns tags (CloudFormation, EC2), a resource counts as ours when it has
the `condor-annex:managed=true` or `condor-annex:annex` tag or a `condor-annex` name; the
other services' listings carry no tags, and there our fixed names and IAM paths (see
naming.py) find them. IAM is global: only names and paths of this region count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.providers.aws import naming
from condor_annex.providers.aws.reaper import TAG_ANNEX, TAG_MANAGED, tag_dict

LEFT_INSTANCE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]


@dataclass(frozen=True)
class Resource:
    kind: str
    id: str
    detail: str = ""

    def line(self) -> str:
        return f"  {self.kind} {self.id}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Inventory:
    region: str
    resources: list[Resource] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.resources

    def of(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]

    def lines(self) -> list[str]:
        if self.empty:
            return [f"Nothing made by condor-annex is left in {self.region}."]
        return [
            f"Left in {self.region} ({len(self.resources)}):",
            *(r.line() for r in self.resources),
        ]


def _ours(name: str, tags: dict[str, str] | None = None) -> bool:
    tags = tags or {}
    return naming.is_ours(name) or tags.get(TAG_MANAGED) == "true" or TAG_ANNEX in tags


class Finder:
    """One region's listing calls; each `find_<kind>` yields that kind's leftovers."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.region: str = session.region_name
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def _pages(self, service: str, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from self.client(service).get_paginator(operation).paginate(**kwargs)

    def find_stack(self) -> Iterator[Resource]:
        for page in self._pages("cloudformation", "describe_stacks"):
            for stack in page["Stacks"]:
                if _ours(stack["StackName"], tag_dict(stack.get("Tags"))):
                    yield Resource("stack", stack["StackName"], stack["StackStatus"])

    def find_bucket(self) -> Iterator[Resource]:
        s3 = self.client("s3")
        for bucket in s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            if not name.startswith(f"{naming.PREFIX}-"):
                continue
            try:
                where = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
            except ClientError:
                continue  # gone between the two calls
            if (where or "us-east-1") == self.region or (
                where == "EU" and self.region == "eu-west-1"
            ):
                yield Resource("bucket", name)

    def _iam_ours(self, name: str, path: str) -> bool:
        return path.startswith(naming.iam_path(self.region)) or name.startswith(
            naming.iam_name_prefix(self.region)
        )

    def find_iam_role(self) -> Iterator[Resource]:
        for page in self._pages("iam", "list_roles"):
            for role in page["Roles"]:
                if self._iam_ours(role["RoleName"], role.get("Path", "/")):
                    yield Resource("iam-role", role["RoleName"])

    def find_iam_instance_profile(self) -> Iterator[Resource]:
        for page in self._pages("iam", "list_instance_profiles"):
            for profile in page["InstanceProfiles"]:
                if self._iam_ours(profile["InstanceProfileName"], profile.get("Path", "/")):
                    yield Resource("iam-instance-profile", profile["InstanceProfileName"])

    def find_iam_policy(self) -> Iterator[Resource]:
        for page in self._pages("iam", "list_policies", Scope="Local"):
            for policy in page["Policies"]:
                if self._iam_ours(policy["PolicyName"], policy.get("Path", "/")):
                    yield Resource("iam-policy", policy["Arn"])

    def find_lambda_function(self) -> Iterator[Resource]:
        for page in self._pages("lambda", "list_functions"):
            for fn in page["Functions"]:
                if naming.is_ours(fn["FunctionName"]):
                    yield Resource("lambda-function", fn["FunctionName"])

    def find_events_rule(self) -> Iterator[Resource]:
        for page in self._pages("events", "list_rules", NamePrefix=naming.PREFIX):
            for rule in page["Rules"]:
                yield Resource("events-rule", rule["Name"], rule.get("State", ""))

    def find_log_group(self) -> Iterator[Resource]:
        prefix = f"/aws/lambda/{naming.PREFIX}"
        for page in self._pages("logs", "describe_log_groups", logGroupNamePrefix=prefix):
            for group in page["logGroups"]:
                yield Resource("log-group", group["logGroupName"])

    def find_instance(self) -> Iterator[Resource]:
        seen: set[str] = set()
        state = {"Name": "instance-state-name", "Values": LEFT_INSTANCE_STATES}
        for selector in (
            {"Name": f"tag:{TAG_MANAGED}", "Values": ["true"]},
            {"Name": "tag-key", "Values": [TAG_ANNEX]},
            {"Name": "tag:Name", "Values": [f"{naming.PREFIX}*"]},
        ):
            for page in self._pages("ec2", "describe_instances", Filters=[selector, state]):
                for reservation in page["Reservations"]:
                    for inst in reservation["Instances"]:
                        if inst["InstanceId"] not in seen:
                            seen.add(inst["InstanceId"])
                            yield Resource("instance", inst["InstanceId"], inst["State"]["Name"])

    def find_image(self) -> Iterator[Resource]:
        """Images the account owns that carry our tag (`annex image build` makes them)."""
        mine = [{"Name": f"tag:{TAG_MANAGED}", "Values": ["true"]}]
        for page in self._pages("ec2", "describe_images", Owners=["self"], Filters=mine):
            for image in page["Images"]:
                yield Resource("image", image["ImageId"], image.get("Name", ""))

    def find_snapshot(self) -> Iterator[Resource]:
        mine = [{"Name": f"tag:{TAG_MANAGED}", "Values": ["true"]}]
        for page in self._pages("ec2", "describe_snapshots", OwnerIds=["self"], Filters=mine):
            for snapshot in page["Snapshots"]:
                yield Resource("snapshot", snapshot["SnapshotId"], snapshot.get("State", ""))

    def find_fleet(self) -> Iterator[Resource]:
        for page in self._pages("ec2", "describe_fleets"):
            for fleet in page.get("Fleets", []):
                state = fleet.get("FleetState", "")
                if not state.startswith("deleted") and _ours("", tag_dict(fleet.get("Tags"))):
                    yield Resource("fleet", fleet["FleetId"], state)

    def find_spot_fleet_request(self) -> Iterator[Resource]:
        for page in self._pages("ec2", "describe_spot_fleet_requests"):
            for req in page.get("SpotFleetRequestConfigs", []):
                state = req.get("SpotFleetRequestState", "")
                if not state.startswith("cancelled") and _ours("", tag_dict(req.get("Tags"))):
                    yield Resource("spot-fleet-request", req["SpotFleetRequestId"], state)

    def find_spot_instance_request(self) -> Iterator[Resource]:
        for page in self._pages("ec2", "describe_spot_instance_requests"):
            for req in page.get("SpotInstanceRequests", []):
                state = req.get("State", "")
                if state in ("open", "active") and _ours("", tag_dict(req.get("Tags"))):
                    yield Resource("spot-instance-request", req["SpotInstanceRequestId"], state)

    def find_security_group(self) -> Iterator[Resource]:
        for page in self._pages("ec2", "describe_security_groups"):
            for group in page["SecurityGroups"]:
                if _ours(group["GroupName"], tag_dict(group.get("Tags"))):
                    yield Resource("security-group", group["GroupId"], group["GroupName"])

    def find_launch_template(self) -> Iterator[Resource]:
        for page in self._pages("ec2", "describe_launch_templates"):
            for lt in page["LaunchTemplates"]:
                if _ours(lt["LaunchTemplateName"], tag_dict(lt.get("Tags"))):
                    yield Resource(
                        "launch-template", lt["LaunchTemplateId"], lt["LaunchTemplateName"]
                    )

    def find_alarm(self) -> Iterator[Resource]:
        for page in self._pages("cloudwatch", "describe_alarms", AlarmNamePrefix=naming.PREFIX):
            for alarm in page.get("MetricAlarms", []):
                yield Resource("alarm", alarm["AlarmName"], alarm.get("StateValue", ""))

    def find_elastic_ip(self) -> Iterator[Resource]:
        for address in self.client("ec2").describe_addresses().get("Addresses", []):
            tags = tag_dict(address.get("Tags"))
            if _ours(tags.get("Name", ""), tags):
                yield Resource("elastic-ip", address["AllocationId"], address.get("PublicIp", ""))

    def find_key_pair(self) -> Iterator[Resource]:
        for pair in self.client("ec2").describe_key_pairs().get("KeyPairs", []):
            if _ours(pair["KeyName"], tag_dict(pair.get("Tags"))):
                yield Resource("key-pair", pair["KeyName"])


# In the order teardown must delete them (what uses a thing goes before the thing).
KINDS: tuple[str, ...] = (
    "fleet",
    "spot-fleet-request",
    "spot-instance-request",
    "instance",
    "image",  # before its snapshots, which it holds
    "snapshot",
    "stack",
    "alarm",
    "elastic-ip",
    "events-rule",
    "lambda-function",
    "log-group",
    "iam-instance-profile",
    "iam-role",
    "iam-policy",
    "launch-template",
    "key-pair",
    "security-group",
    "bucket",
)


def finder_for(finder: Finder, kind: str) -> Callable[[], Iterator[Resource]]:
    return getattr(finder, f"find_{kind.replace('-', '_')}")


def take_inventory(session: Any, kinds: Iterable[str] = KINDS) -> Inventory:
    finder = Finder(session)
    found = [r for kind in kinds for r in finder_for(finder, kind)()]
    return Inventory(finder.region, found)
