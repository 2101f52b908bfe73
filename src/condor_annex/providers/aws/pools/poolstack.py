"""Whole pools in the cloud: `annex pool create/update/delete/list --provider aws`.

A pool is ONE CloudFormation stack (templates/pool.yaml) named `condor-annex-pool-<name>`:
the seed on an on-demand instance (IMDSv2 only) with an Elastic IP and a recovery alarm,
its security group (9618 from the region's annex workers and the admin network, ssh from
the admin network, the world only when asked), and its least-privilege role. One stack,
so a pool is made, changed and removed as a unit and `pool list` is a stack listing.

Every check runs before anything is made or changed (UsageError, exit 2). The region
must be set up: the seed's role is scoped to the setup's bucket and worker policy, and
its security group admits the setup's worker security group, which every annex carries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from condor_annex.api import Cancelled
from condor_annex.errors import AnnexError, UsageError
from condor_annex.providers.aws import naming
from condor_annex.providers.aws.account.inventory import Finder, Inventory, finder_for
from condor_annex.providers.aws.account.setuprecord import find_setup
from condor_annex.providers.aws.account.stacks import Stacks, StackSpec, next_action
from condor_annex.providers.aws.account.stacktemplate import template_text
from condor_annex.providers.aws.account.teardown import Sweeper
from condor_annex.providers.aws.annexes.options import DEFAULT_INSTANCE_TYPE
from condor_annex.providers.aws.awserrors import aws_errors
from condor_annex.providers.aws.pools.poolchanges import PoolChangeSet
from condor_annex.providers.aws.pools.poolinput import (
    check_admin_cidr,
    check_instance_policy,
    check_key_pair,
    check_pool_image,
    check_pool_name,
)
from condor_annex.providers.aws.pools.poolrecord import (
    CONTROL_IMAGE,
    WORKER_IMAGE,
    CloudPool,
    find_pool,
)
from condor_annex.providers.aws.pools.poolscope import PoolScope, find_scope, pool_inventory
from condor_annex.providers.aws.reaper import TAG_MANAGED, TAG_POOL, annex_prefix, delete_prefix

Say = Callable[[str], None]
Confirm = Callable[[str], bool]
POOL_TEMPLATE = "pool.yaml"
WORLD_WARNING = (
    "Warning: --allow-world opens the seed's HTCondor port 9618 to the whole internet "
    "(0.0.0.0/0); IDTOKENS still guard it, but anyone can knock."
)
# IMDSv2 only, with the instance's tags readable there (the seed reads its worker image).
SEED_METADATA = {
    "HttpTokens": "required",
    "HttpEndpoint": "enabled",
    "HttpPutResponseHopLimit": 1,
    "InstanceMetadataTags": "enabled",
}


@dataclass(frozen=True)
class PoolRequest:
    name: str
    control_image: str
    worker_image: str
    admin_cidr: str | None
    instance_type: str = DEFAULT_INSTANCE_TYPE
    instance_policy: str = ""
    allow_world: bool = False
    key_name: str = ""


def _stacks(session: Any, say: Say, poll: float, timeout: float) -> Stacks:
    return Stacks(session, say, poll=poll, timeout=timeout)


def require_imdsv2(ec2: Any, instance_id: str, say: Say) -> None:
    """Check, and repair, that the seed answers IMDSv2 only, as the template asks.

    The template sets it at launch; this makes it a checked fact after every create and
    update, like setup's guardrails (moto, for one, does not apply the template's).
    """
    if not instance_id:
        return
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    for reservation in reservations:
        for inst in reservation["Instances"]:
            options = inst.get("MetadataOptions", {})
            if all(options.get(k) == v for k, v in SEED_METADATA.items()):
                return
            say(f"Seed {instance_id} allowed more than IMDSv2; setting IMDSv2 only.")
            ec2.modify_instance_metadata_options(InstanceId=instance_id, **SEED_METADATA)


ROOT_DEVICE = "ControlNodeRootDevice"
ROOT_SIZE = "ControlNodeVolumeSize"
MIN_ROOT_GIB = 30  # a seed keeps job queues, histories and logs


def root_volume(ec2: Any, image: str) -> dict[str, str]:
    """Where and how large the seed's encrypted root volume is, for the image: its root
    device name, and its root snapshot's size (at least MIN_ROOT_GIB)."""
    images = ec2.describe_images(ImageIds=[image])["Images"]
    name = str(images[0].get("RootDeviceName") or "/dev/xvda") if images else "/dev/xvda"
    mappings = images[0].get("BlockDeviceMappings", []) if images else []
    sizes = [m.get("Ebs", {}).get("VolumeSize", 0) for m in mappings if m.get("DeviceName") == name]
    return {ROOT_DEVICE: name, ROOT_SIZE: str(max([MIN_ROOT_GIB, *sizes]))}


@aws_errors
def create_pool(
    session: Any,
    request: PoolRequest,
    say: Say,
    confirm: Confirm,
    poll: float = 5.0,
    timeout: float = 1800,
) -> CloudPool:
    """Check everything, ask, then make the pool's stack and wait for it with progress."""
    region = session.region_name
    name = check_pool_name(request.name)
    admin_cidr = check_admin_cidr(request.admin_cidr)
    setup = find_setup(session)
    existing = find_pool(session, name)
    if existing is not None and next_action(existing.status) != "replace":
        raise UsageError(
            f"pool {name!r} already exists in {region} ({existing.status}); pick another "
            "name, or change it with `annex pool update` or remove it with `annex pool delete`"
        )
    ec2 = session.client("ec2")
    check_pool_image(ec2, request.control_image, "--control-image")
    check_pool_image(ec2, request.worker_image, "--worker-image")
    key_name = check_key_pair(ec2, request.key_name)
    policy = check_instance_policy(session.client("iam"), request.instance_policy)
    # The seed goes where the workers are: the VPC of the setup's worker security group.
    groups = ec2.describe_security_groups(GroupIds=[setup.security_group_id])["SecurityGroups"]
    if request.allow_world:
        say(WORLD_WARNING)
    summary = (
        f"Will create pool {name} in {region}: an on-demand {request.instance_type} seed "
        f"from {request.control_image} with an Elastic IP and automatic recovery; workers "
        f"from {request.worker_image}; ssh and HTCondor from {admin_cidr}"
        + (", HTCondor also from anywhere." if request.allow_world else ".")
    )
    say(summary)
    if not confirm(summary):
        raise Cancelled("nothing was created")
    spec = StackSpec(
        name=naming.pool_stack_name(name),
        template=template_text(POOL_TEMPLATE),
        # Every parameter explicitly, defaults too: the stack then records every choice.
        parameters={
            "PoolName": name,
            CONTROL_IMAGE: request.control_image,
            WORKER_IMAGE: request.worker_image,
            **root_volume(ec2, request.control_image),
            "ControlNodeInstanceType": request.instance_type,
            "AdminCidr": admin_cidr,
            "AllowWorld": "true" if request.allow_world else "false",
            "KeyName": key_name,
            "VpcId": groups[0]["VpcId"],
            "WorkerSecurityGroupId": setup.security_group_id,
            "ConfigBucket": setup.bucket,
            "WorkerPolicyArn": setup.worker_policy_arn,
            "WorkerBoundaryArn": setup.worker_boundary_arn,
            "InstancePolicyArn": policy,
        },
        tags={TAG_MANAGED: "true", TAG_POOL: name},
    )
    # A pool stack left broken by an earlier failed create holds no data: replace it.
    _stacks(session, say, poll, timeout).deploy(spec, before_replace=lambda: None)
    pool = find_pool(session, name)
    if pool is None:
        raise AnnexError(f"stack {spec.name} vanished after it was created")
    require_imdsv2(ec2, pool.seed_instance_id, say)
    return pool


@aws_errors
def update_pool(
    session: Any,
    name: str,
    say: Say,
    confirm: Confirm,
    worker_image: str | None = None,
    control_image: str | None = None,
    poll: float = 5.0,
    timeout: float = 1800,
) -> CloudPool:
    """Change the images, and nothing else, through a change set shown before it runs."""
    region = session.region_name
    name = check_pool_name(name)
    if not worker_image and not control_image:
        raise UsageError("give --worker-image and/or --control-image")
    pool = find_pool(session, name)
    if pool is None:
        raise UsageError(f"there is no pool {name!r} in {region}; see `annex pool list`")
    if next_action(pool.status) != "update":
        raise UsageError(
            f"pool {name} is {pool.status}; wait for it to settle, or delete and recreate it"
        )
    ec2 = session.client("ec2")
    wanted = {WORKER_IMAGE: worker_image, CONTROL_IMAGE: control_image}
    flags = {WORKER_IMAGE: "--worker-image", CONTROL_IMAGE: "--control-image"}
    changes = {
        key: check_pool_image(ec2, image, flags[key])
        for key, image in wanted.items()
        if image and image != pool.parameters.get(key)
    }
    if not changes:
        say(f"Pool {name} already uses these images; nothing to change.")
        return pool
    # A new seed's encrypted volume goes on its own image's root device.
    new_seed = changes.get(CONTROL_IMAGE)
    changes |= root_volume(ec2, new_seed) if new_seed else {}
    change_set = PoolChangeSet(session, pool.stack_name, poll=poll, timeout=timeout)
    change_set.create(list(pool.parameters), changes)
    result = change_set.wait()
    if result.empty:
        change_set.discard()
        say(f"CloudFormation finds nothing to change in pool {name}.")
        return pool
    if result.status != "CREATE_COMPLETE":
        change_set.discard()
        raise AnnexError(f"CloudFormation cannot update pool {name}: {result.reason}")
    say(f"Updating pool {name} in {region}:")
    for key, value in changes.items():
        say(f"  {key}: {pool.parameters.get(key, '')} -> {value}")
    say("Resources that change:")
    for change in result.changes:
        say(change.line())
    if not result.changes:
        say("  (CloudFormation listed none)")
    if any(c.replaces and c.logical_id == "Seed" for c in result.changes):
        say(
            "Warning: the seed is replaced by a new instance (same Elastic IP, a new disk): "
            "its job queue and signing key do not carry over; running annexes lose their pool."
        )
    if not confirm(f"Update pool {name}?"):
        change_set.discard()
        raise Cancelled("nothing was changed")
    change_set.execute()
    stacks = _stacks(session, say, poll, timeout)
    stacks.settle(pool.stack_name, "UPDATE_COMPLETE")  # same wait and failure report
    updated = find_pool(session, name)
    if updated is None:
        raise AnnexError(f"stack {pool.stack_name} vanished during the update")
    require_imdsv2(ec2, updated.seed_instance_id, say)
    return updated


def _pool_instances_left(finder: Finder, scope: PoolScope) -> list[str]:
    return [r.id for r in finder.find_instance() if scope.owns(r)]


def _wait_for_instances(
    finder: Finder, scope: PoolScope, say: Say, timeout: float, poll: float
) -> None:
    deadline = time.monotonic() + timeout
    while left := _pool_instances_left(finder, scope):
        if time.monotonic() > deadline:
            raise AnnexError(
                f"{len(left)} instance(s) of pool {scope.pool} still not terminated after "
                f"{timeout:.0f}s; rerun `annex pool delete {scope.pool}`"
            )
        say(f"Waiting for {len(left)} instance(s) of pool {scope.pool} to terminate...")
        time.sleep(poll)


def _delete_annex_objects(session: Any, scope: PoolScope, say: Say) -> None:
    """Best effort, as when an annex ends: the reaper deletes them after the lease."""
    try:
        bucket = find_setup(session).bucket
    except UsageError:
        return  # no setup, so no bucket and no objects
    s3 = session.client("s3")
    for pool_id, annex in sorted(scope.annexes):
        prefix = annex_prefix(pool_id, annex)
        try:
            delete_prefix(s3, bucket, prefix)
        except (ClientError, BotoCoreError) as err:
            say(f"Could not delete {prefix} in {bucket}: {err}")


@aws_errors
def delete_pool(
    session: Any,
    name: str,
    say: Say,
    confirm: Confirm,
    poll: float = 5.0,
    timeout: float = 900,
) -> Inventory:
    """End the pool's annexes and seed, delete its stack, sweep what the stack left, and
    return the pool's part of the inventory (empty: nothing is left)."""
    region = session.region_name
    name = check_pool_name(name)
    pool = find_pool(session, name)
    scope = find_scope(session, name, pool)
    if not scope.found:
        raise UsageError(f"there is no pool {name!r} in {region}; see `annex pool list`")
    annexes = ", ".join(sorted(annex for _, annex in scope.annexes)) or "none"
    summary = (
        f"Will delete pool {name} in {region}: its stack, its seed and its annexes "
        f"({annexes}; {len(scope.instances)} instance(s) in all)."
    )
    say(summary)
    if not confirm(summary):
        raise Cancelled("nothing was deleted")

    finder = Finder(session)
    sweeper = Sweeper(finder, say, timeout, poll)
    say(f"Ending pool {name}'s annexes and seed...")
    for kind in ("fleet", "spot-fleet-request", "spot-instance-request", "instance"):
        for res in finder_for(finder, kind)():
            if scope.owns(res):
                sweeper.delete(res)
    _wait_for_instances(finder, scope, say, timeout, poll)
    _delete_annex_objects(session, scope, say)

    say(f"Deleting stack {naming.pool_stack_name(name)}...")
    _stacks(session, say, poll, timeout).delete(naming.pool_stack_name(name))
    for res in pool_inventory(session, scope).resources:  # in teardown's order
        say(f"Deleting leftover {res.kind} {res.id}...")
        sweeper.delete(res)
    return pool_inventory(session, scope)
