"""Remove everything condor-annex made in a region, then prove it with an inventory.

Order matters on real AWS: fleets before instances (or they replace them), instances
gone before their security group can go, and the bucket emptied (every object version)
before the stack deletes it, because CloudFormation cannot delete a non-empty bucket
(moto silently can, and leaves the bucket behind). Whatever the stack did not own, or
left, is then deleted kind by kind from a fresh inventory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.errors import AnnexError
from condor_annex.providers.aws import naming
from condor_annex.providers.aws.account.inventory import (
    KINDS,
    Finder,
    Inventory,
    Resource,
    finder_for,
    take_inventory,
)
from condor_annex.providers.aws.account.stacks import Stacks
from condor_annex.providers.aws.images.amis import delete_snapshots
from condor_annex.providers.aws.reaper import delete_objects, delete_prefix

Say = Callable[[str], None]
GONE_CODES = {
    "NoSuchBucket",
    "NoSuchEntity",
    "ResourceNotFoundException",
    "InvalidGroup.NotFound",
    "InvalidLaunchTemplateId.NotFound",
    "InvalidKeyPair.NotFound",
    "InvalidAMIID.NotFound",
    "InvalidAMIID.Unavailable",
    "InvalidSnapshot.NotFound",
    "InvalidAllocationID.NotFound",
    "InvalidAssociationID.NotFound",
}


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker, then any plain object left.

    The bucket's policy goes first: the bucket is going anyway, and a policy that denies
    (a tightened one, or moto, which ignores the TLS-only condition and denies every
    object call) must not block emptying it.
    """
    deleted = 0
    try:
        s3.delete_bucket_policy(Bucket=bucket)
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            keys = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            for start in range(0, len(keys), 1000):
                deleted += delete_objects(s3, bucket, keys[start : start + 1000])
        return deleted + delete_prefix(s3, bucket, "")
    except ClientError as err:
        if err.response["Error"].get("Code") == "NoSuchBucket":
            return deleted
        raise


class Sweeper:
    """Deletes one inventoried resource of each kind (`delete_<kind>`)."""

    def __init__(self, finder: Finder, say: Say, timeout: float, poll: float) -> None:
        self.finder = finder
        self.say = say
        self.timeout = timeout
        self.poll = poll

    def c(self, service: str) -> Any:
        return self.finder.client(service)

    def delete(self, res: Resource) -> None:
        try:
            getattr(self, f"delete_{res.kind.replace('-', '_')}")(res)
        except ClientError as err:
            if err.response["Error"].get("Code") not in GONE_CODES:
                raise

    def delete_fleet(self, res: Resource) -> None:
        self.c("ec2").delete_fleets(FleetIds=[res.id], TerminateInstances=True)

    def delete_spot_fleet_request(self, res: Resource) -> None:
        self.c("ec2").cancel_spot_fleet_requests(
            SpotFleetRequestIds=[res.id], TerminateInstances=True
        )

    def delete_spot_instance_request(self, res: Resource) -> None:
        self.c("ec2").cancel_spot_instance_requests(SpotInstanceRequestIds=[res.id])

    def delete_instance(self, res: Resource) -> None:
        self.c("ec2").terminate_instances(InstanceIds=[res.id])

    def delete_image(self, res: Resource) -> None:
        self.c("ec2").deregister_image(ImageId=res.id)

    def delete_snapshot(self, res: Resource) -> None:
        # Right after its image is deregistered a snapshot may still count as in use.
        ec2 = self.c("ec2")
        delete_snapshots(
            lambda s: ec2.delete_snapshot(SnapshotId=s), [res.id], self.timeout, self.poll
        )

    def delete_stack(self, res: Resource) -> None:
        Stacks(self.finder.session, self.say, poll=self.poll, timeout=self.timeout).delete(res.id)

    def delete_alarm(self, res: Resource) -> None:
        self.c("cloudwatch").delete_alarms(AlarmNames=[res.id])

    def delete_elastic_ip(self, res: Resource) -> None:
        ec2 = self.c("ec2")
        addresses = ec2.describe_addresses(AllocationIds=[res.id])["Addresses"]
        for address in addresses:
            if address.get("AssociationId"):
                ec2.disassociate_address(AssociationId=address["AssociationId"])
        ec2.release_address(AllocationId=res.id)

    def delete_events_rule(self, res: Resource) -> None:
        events = self.c("events")
        ids = [t["Id"] for t in events.list_targets_by_rule(Rule=res.id)["Targets"]]
        if ids:
            events.remove_targets(Rule=res.id, Ids=ids)
        events.delete_rule(Name=res.id)

    def delete_lambda_function(self, res: Resource) -> None:
        self.c("lambda").delete_function(FunctionName=res.id)

    def delete_log_group(self, res: Resource) -> None:
        self.c("logs").delete_log_group(logGroupName=res.id)

    def delete_iam_instance_profile(self, res: Resource) -> None:
        iam = self.c("iam")
        profile = iam.get_instance_profile(InstanceProfileName=res.id)["InstanceProfile"]
        for role in profile.get("Roles", []):
            iam.remove_role_from_instance_profile(
                InstanceProfileName=res.id, RoleName=role["RoleName"]
            )
        iam.delete_instance_profile(InstanceProfileName=res.id)

    def delete_iam_role(self, res: Resource) -> None:
        iam = self.c("iam")
        for profile in iam.list_instance_profiles_for_role(RoleName=res.id)["InstanceProfiles"]:
            iam.remove_role_from_instance_profile(
                InstanceProfileName=profile["InstanceProfileName"], RoleName=res.id
            )
        for name in iam.list_role_policies(RoleName=res.id)["PolicyNames"]:
            iam.delete_role_policy(RoleName=res.id, PolicyName=name)
        for policy in iam.list_attached_role_policies(RoleName=res.id)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=res.id, PolicyArn=policy["PolicyArn"])
        iam.delete_role(RoleName=res.id)

    def delete_iam_policy(self, res: Resource) -> None:
        iam = self.c("iam")
        users = iam.list_entities_for_policy(PolicyArn=res.id)
        for role in users.get("PolicyRoles", []):
            iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=res.id)
        for user in users.get("PolicyUsers", []):
            iam.detach_user_policy(UserName=user["UserName"], PolicyArn=res.id)
        for group in users.get("PolicyGroups", []):
            iam.detach_group_policy(GroupName=group["GroupName"], PolicyArn=res.id)
        for version in iam.list_policy_versions(PolicyArn=res.id)["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=res.id, VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=res.id)

    def delete_launch_template(self, res: Resource) -> None:
        self.c("ec2").delete_launch_template(LaunchTemplateId=res.id)

    def delete_key_pair(self, res: Resource) -> None:
        self.c("ec2").delete_key_pair(KeyName=res.id)

    def delete_security_group(self, res: Resource) -> None:
        # Instances that just terminated may hold the group for a while (DependencyViolation).
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self.c("ec2").delete_security_group(GroupId=res.id)
                return
            except ClientError as err:
                code = err.response["Error"].get("Code")
                if code != "DependencyViolation" or time.monotonic() > deadline:
                    raise
            time.sleep(self.poll)

    def delete_bucket(self, res: Resource) -> None:
        s3 = self.c("s3")
        empty_bucket(s3, res.id)
        s3.delete_bucket(Bucket=res.id)


def _wait_until_no_instances(finder: Finder, say: Say, timeout: float, poll: float) -> None:
    deadline = time.monotonic() + timeout
    while left := list(finder.find_instance()):
        if time.monotonic() > deadline:
            raise AnnexError(
                f"{len(left)} instance(s) still not terminated after {timeout:.0f}s; "
                "rerun `annex teardown --provider aws`"
            )
        say(f"Waiting for {len(left)} instance(s) to terminate...")
        time.sleep(poll)


def teardown(session: Any, say: Say, timeout: float = 900, poll: float = 5.0) -> Inventory:
    """Delete all condor-annex resources in the session's region; return what is left."""
    finder = Finder(session)
    sweeper = Sweeper(finder, say, timeout, poll)
    region = finder.region

    say(f"Ending every annex's fleets and instances in {region}...")
    for kind in ("fleet", "spot-fleet-request", "spot-instance-request", "instance"):
        for res in finder_for(finder, kind)():
            sweeper.delete(res)
    _wait_until_no_instances(finder, say, timeout, poll)

    for res in finder.find_bucket():
        say(f"Emptying configuration bucket {res.id}...")
        empty_bucket(finder.client("s3"), res.id)

    # A pool's seed security group admits the setup's worker group: pools go first.
    for res in finder.find_stack():
        if naming.pool_of_stack(res.id) is not None:
            say(f"Deleting pool stack {res.id}...")
            sweeper.delete(res)

    say(f"Deleting stack {naming.stack_name(region)}...")
    Stacks(session, say, poll=poll, timeout=timeout).delete(naming.stack_name(region))

    for kind in KINDS:
        for res in finder_for(finder, kind)():
            say(f"Deleting leftover {res.kind} {res.id}...")
            sweeper.delete(res)

    inventory = take_inventory(session)
    for line in inventory.lines():
        say(line)
    return inventory
