"""Everything one pool in the cloud owns, so `annex pool delete` removes that and no more.

A pool owns its stack and what the stack made (found by the stack's physical ids and by
the fixed names in naming.py, so leftovers of a half-deleted stack are found too), its
seed, and its annexes: their workers (poolmembers.py), fleets, and per-annex roles.
Anything else of the tool in the region (the setup, other pools) is not the pool's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from condor_annex.providers.aws import naming
from condor_annex.providers.aws.account.inventory import (
    LEFT_INSTANCE_STATES,
    Inventory,
    Resource,
    take_inventory,
)
from condor_annex.providers.aws.annexes.instances import annex_fleets, tag_dict
from condor_annex.providers.aws.annexes.workeridentity import role_name
from condor_annex.providers.aws.pools.poolmembers import pool_members
from condor_annex.providers.aws.pools.poolrecord import CloudPool
from condor_annex.providers.aws.reaper import TAG_POOL


@dataclass
class PoolScope:
    pool: str
    region: str
    ids: set[str] = field(default_factory=set)  # physical ids and names
    annexes: set[tuple[str, str]] = field(default_factory=set)  # (pool id, annex name)
    addresses: set[str] = field(default_factory=set)  # the seed's Elastic IPs
    instances: set[str] = field(default_factory=set)
    stack: bool = False

    def owns(self, res: Resource) -> bool:
        """By id, or by the name an inventory line carries (a security group's)."""
        return res.id in self.ids or (bool(res.detail) and res.detail in self.ids)

    @property
    def found(self) -> bool:
        """Is there anything of this pool at all (a stack, an instance, an address)?"""
        return self.stack or bool(self.instances) or bool(self.addresses)


def _stack_ids(cf: Any, stack_name: str) -> set[str]:
    ids = set()
    for page in cf.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for res in page["StackResourceSummaries"]:
            if res.get("PhysicalResourceId"):
                ids.add(res["PhysicalResourceId"])
    return ids


def _addresses(ec2: Any, pool: str, known: set[str]) -> dict[str, str]:
    """Allocation id -> public IP of the pool's Elastic IPs: tagged with the pool, or the
    address its stack recorded (CloudFormation tags them on AWS; moto never does)."""
    found = {}
    for address in ec2.describe_addresses().get("Addresses", []):
        tags = tag_dict(address.get("Tags"))
        if tags.get(TAG_POOL) == pool or address.get("PublicIp") in known:
            found[address["AllocationId"]] = address.get("PublicIp", "")
    return found


def find_scope(session: Any, name: str, pool: CloudPool | None) -> PoolScope:
    region = session.region_name
    scope = PoolScope(name, region, stack=pool is not None)
    scope.ids |= {
        naming.pool_stack_name(name),
        naming.pool_seed_name(name),
        naming.pool_alarm_name(name),
        naming.pool_role_name(region, name),
    }
    ec2 = session.client("ec2")
    if pool is not None:
        scope.ids |= _stack_ids(session.client("cloudformation"), pool.stack_name)
        if pool.seed_address:
            scope.addresses.add(pool.seed_address)
    members = pool_members(ec2, [name], LEFT_INSTANCE_STATES, {name: scope.addresses})[name]
    scope.instances = members.ids
    scope.annexes = members.annexes
    scope.ids |= members.ids
    for pool_id, annex in members.annexes:
        scope.ids.add(role_name(region, pool_id, annex))
        scope.ids.update(annex_fleets(ec2, pool_id, annex))
    addresses = _addresses(ec2, name, scope.addresses)
    scope.ids |= set(addresses)
    scope.addresses |= set(addresses.values())
    return scope


def pool_inventory(session: Any, scope: PoolScope) -> Inventory:
    """The region's inventory (as teardown ends with) cut down to what the pool owns."""
    left = [r for r in take_inventory(session).resources if scope.owns(r)]
    listed = {r.id for r in left}
    for allocation, ip in _addresses(session.client("ec2"), scope.pool, scope.addresses).items():
        if allocation not in listed:
            left.append(Resource("elastic-ip", allocation, ip))
    return Inventory(scope.region, left)
