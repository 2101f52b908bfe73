"""A pool in the cloud as its stack describes it: what the user chose and what was made.

The stack is the record, as for setup: its parameters hold the images and the other
choices, its outputs the seed and its address, so `pool list`, `update` and `delete`
read the account and nothing local can go stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.providers.aws import naming

CONTROL_IMAGE = "ControlNodeAmiId"
WORKER_IMAGE = "WorkerNodeAmiId"
GONE = "DELETE_COMPLETE"


@dataclass(frozen=True)
class CloudPool:
    name: str
    region: str
    status: str
    parameters: dict[str, str]
    outputs: dict[str, str]

    @classmethod
    def from_stack(cls, region: str, stack: dict[str, Any]) -> CloudPool | None:
        """The pool a described stack is, or None for any other stack."""
        name = naming.pool_of_stack(stack["StackName"])
        if name is None:
            return None
        return cls(
            name=name,
            region=region,
            status=stack["StackStatus"],
            parameters={
                p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])
            },
            outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        )

    @property
    def stack_name(self) -> str:
        return naming.pool_stack_name(self.name)

    @property
    def control_image(self) -> str:
        return self.parameters.get(CONTROL_IMAGE, "")

    @property
    def worker_image(self) -> str:
        return self.parameters.get(WORKER_IMAGE, "")

    @property
    def instance_policy(self) -> str:
        return self.parameters.get("InstancePolicyArn", "")

    @property
    def seed_instance_id(self) -> str:
        return self.outputs.get("SeedInstanceId", "")

    @property
    def seed_address(self) -> str:
        """The seed's Elastic IP: the same across stop/start and a replaced seed."""
        return self.outputs.get("SeedPublicIp", "")


def find_pool(session: Any, name: str) -> CloudPool | None:
    """The pool's stack, or None when there is none (a deleted stack counts as none)."""
    cf = session.client("cloudformation")
    try:
        stacks = cf.describe_stacks(StackName=naming.pool_stack_name(name))["Stacks"]
    except ClientError as err:
        if "does not exist" in str(err):
            return None
        raise
    pools = [CloudPool.from_stack(session.region_name, s) for s in stacks]
    return next((p for p in pools if p is not None and p.status != GONE), None)


def list_pools(session: Any) -> Iterator[CloudPool]:
    """Every pool stack of the region, by the naming scheme."""
    cf = session.client("cloudformation")
    for page in cf.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            pool = CloudPool.from_stack(session.region_name, stack)
            if pool is not None and pool.status != GONE:
                yield pool
