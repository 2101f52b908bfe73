"""The classic -aws-spot-fleet-config-file: a Spot Fleet request (JSON), mapped onto the
one instant EC2 Fleet launch every spot annex makes.

What carries over: each launch specification's instance type, weight (WeightedCapacity),
maximum price (SpotPrice, or the request's), image, subnets and availability zone become
the fleet's overrides; the allocation strategy, the total price cap and the pool count
become its spot options; a key pair, block devices, EBS optimisation and monitoring
(the same in every specification: a fleet takes one of each) go into the annex's launch
template version; instance tags join the annex's tags. -slots is the target capacity.

What is the annex's own and stays so: the tags the tool relies on, the lease, the
annex's instance role, the boot script (with any -aws-user-data run alongside), the
setup's security group and metadata options. A field that would change those (an
instance profile, user data, a network interface, another security group), a value the
annex cannot keep (a fleet that replaces lost instances, on-demand capacity, stop or
hibernate on interruption) or a field this mapping does not know is a one-line error that
names it, before anything is made. Fields that only steered the old request (its fleet
role, validity window, client token) are accepted and said to be ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from condor_annex.errors import UsageError

# Spot Fleet's spelling -> EC2 Fleet's (EC2 Fleet's own spelling is accepted too).
STRATEGIES = {
    "lowestPrice": "lowest-price",
    "diversified": "diversified",
    "capacityOptimized": "capacity-optimized",
    "capacityOptimizedPrioritized": "capacity-optimized-prioritized",
    "priceCapacityOptimized": "price-capacity-optimized",
}
DEFAULT_STRATEGY = "capacity-optimized"
# Request fields that steered the old request and mean nothing for one instant launch.
IGNORED = {
    "IamFleetRole": "an instant EC2 Fleet needs no fleet role",
    "ValidFrom": "the annex starts now",
    "ValidUntil": "the lease bounds the annex",
    "TerminateInstancesWithExpiration": "the lease ends every instance",
    "ClientToken": "each launch makes its own token",
    "ExcessCapacityTerminationPolicy": "the capacity never changes after the launch",
    "FulfilledCapacity": "AWS reports it; it is not asked for",
    "OnDemandFulfilledCapacity": "AWS reports it; it is not asked for",
    "TargetCapacity": "-slots is the capacity",
}
# Request fields with the only value the annex can keep.
ONLY = {
    "Type": (("request", "instant"), "lost spot instances are never replaced"),
    "ReplaceUnhealthyInstances": ((False,), "lost spot instances are never replaced"),
    "InstanceInterruptionBehavior": (("terminate",), "an interrupted worker ends"),
    "OnDemandTargetCapacity": ((0,), "a -slots annex is all spot; use -count for on-demand"),
    "TargetCapacityUnitType": (("units",), "-slots counts weighted units"),
}
REFUSED = {
    "LaunchTemplateConfigs": "the annex launches from the setup's launch template; "
    "give LaunchSpecifications",
    "LoadBalancersConfig": "annex workers join the pool, not a load balancer",
    "SpotMaintenanceStrategies": "lost spot instances are never replaced",
    "OnDemandAllocationStrategy": "a -slots annex is all spot",
    "OnDemandMaxTotalPrice": "a -slots annex is all spot",
    "Context": "it is reserved by AWS",
}
SPEC_REFUSED = {
    "IamInstanceProfile": "each annex gets its own instance role",
    "UserData": "give it with -aws-user-data-file; it then runs alongside the boot script",
    "NetworkInterfaces": "workers use the setup's security group",
    "KernelId": "the image's own kernel is used",
    "RamdiskId": "the image's own ramdisk is used",
    "AddressingType": "it is not supported by EC2 Fleet",
    "InstanceRequirements": "give InstanceType",
}
# Launch specification fields a fleet takes once, for every instance.
TEMPLATE_FIELDS = ("KeyName", "BlockDeviceMappings", "EbsOptimized", "Monitoring")


@dataclass(frozen=True)
class FleetOverride:
    instance_type: str
    weight: float | None = None
    max_price: str | None = None
    image_id: str | None = None
    subnet_id: str | None = None
    zone: str | None = None

    def request(self, image: str) -> dict[str, Any]:
        """The CreateFleet override, with `image` (its own, or the annex's)."""
        out: dict[str, Any] = {"InstanceType": self.instance_type, "ImageId": image}
        for key, value in (
            ("WeightedCapacity", self.weight),
            ("MaxPrice", self.max_price),
            ("SubnetId", self.subnet_id),
            ("AvailabilityZone", self.zone),
        ):
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class SpotFleetPlan:
    overrides: tuple[FleetOverride, ...]
    allocation_strategy: str = DEFAULT_STRATEGY
    max_total_price: str | None = None
    pools_to_use: int | None = None
    template_data: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    security_groups: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def instance_types(self) -> list[str]:
        return list(dict.fromkeys(o.instance_type for o in self.overrides))

    @property
    def image_ids(self) -> list[str]:
        return sorted({o.image_id for o in self.overrides if o.image_id})

    @property
    def subnet_ids(self) -> list[str]:
        return sorted({o.subnet_id for o in self.overrides if o.subnet_id})

    def weight_of(self, instance_type: str) -> float:
        weights = [o.weight or 1.0 for o in self.overrides if o.instance_type == instance_type]
        return min(weights) if weights else 1.0


def spot_options(plan: SpotFleetPlan | None = None) -> dict[str, Any]:
    """The fleet's SpotOptions: the config's choices, else capacity-optimized; an
    interrupted worker always ends."""
    options: dict[str, Any] = {
        "AllocationStrategy": plan.allocation_strategy if plan else DEFAULT_STRATEGY,
        "InstanceInterruptionBehavior": "terminate",
    }
    if plan and plan.max_total_price is not None:
        options["MaxTotalPrice"] = plan.max_total_price
    if plan and plan.pools_to_use is not None:
        options["InstancePoolsToUseCount"] = plan.pools_to_use
    return options


def _price(value: Any, where: str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0.0
    if isinstance(value, bool) or not number > 0:
        raise UsageError(f"{where} must be a price in dollars above 0, not {value!r}")
    return str(value).strip()


def _tags(items: Any, where: str, resource_types: tuple[str, ...]) -> dict[str, str]:
    """Tags of TagSpecifications for the given resource types; a malformed one is an error."""
    if not isinstance(items, list):
        raise UsageError(f"{where} must be a list")
    tags: dict[str, str] = {}
    for spec in items:
        if not isinstance(spec, dict) or not isinstance(spec.get("Tags", []), list):
            raise UsageError(f"{where} entries must be objects with a Tags list")
        kind = spec.get("ResourceType", "instance")
        if kind not in resource_types:
            raise UsageError(f"{where}: tags for {kind!r} cannot be kept; tag the instances")
        for tag in spec.get("Tags", []):
            if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str):
                raise UsageError(f"{where}: every tag needs a Key")
            tags[tag["Key"]] = str(tag.get("Value", ""))
    return tags


def _spec(raw: Any, number: int, spot_price: str | None) -> tuple[list[FleetOverride], dict]:
    where = f"LaunchSpecifications[{number}]"
    if not isinstance(raw, dict):
        raise UsageError(f"{where} must be an object")
    for key in raw:
        if key in SPEC_REFUSED:
            raise UsageError(f"{where}.{key} cannot be used: {SPEC_REFUSED[key]}")
    known = {
        "InstanceType",
        "WeightedCapacity",
        "SpotPrice",
        "ImageId",
        "SubnetId",
        "Placement",
        "SecurityGroups",
        "TagSpecifications",
        *TEMPLATE_FIELDS,
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise UsageError(f"{where}.{unknown[0]} is not a field this tool can honour")
    instance_type = raw.get("InstanceType")
    if not isinstance(instance_type, str) or not instance_type:
        raise UsageError(f"{where} needs an InstanceType")
    weight = raw.get("WeightedCapacity")
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int | float)):
        raise UsageError(f"{where}.WeightedCapacity must be a number")
    if weight is not None and not weight > 0:
        raise UsageError(f"{where}.WeightedCapacity must be above 0")
    price = _price(raw["SpotPrice"], f"{where}.SpotPrice") if "SpotPrice" in raw else spot_price
    image = raw.get("ImageId")
    if image is not None and not (isinstance(image, str) and image.startswith("ami-")):
        raise UsageError(f"{where}.ImageId must be an AMI id (ami-...)")
    placement = raw.get("Placement", {})
    if not isinstance(placement, dict) or set(placement) - {"AvailabilityZone"}:
        raise UsageError(f"{where}.Placement may hold only AvailabilityZone")
    subnets = [s.strip() for s in str(raw.get("SubnetId", "")).split(",") if s.strip()]
    if any(not s.startswith("subnet-") for s in subnets):
        raise UsageError(f"{where}.SubnetId must be subnet ids (subnet-...), comma-separated")
    overrides = [
        FleetOverride(
            instance_type,
            float(weight) if weight is not None else None,
            price,
            image,
            subnet,
            placement.get("AvailabilityZone"),
        )
        for subnet in subnets or [None]
    ]
    extras = {
        "template": {k: raw[k] for k in TEMPLATE_FIELDS if k in raw},
        "groups": _groups(raw.get("SecurityGroups", []), where),
        "tags": _tags(
            raw.get("TagSpecifications", []), f"{where}.TagSpecifications", ("instance",)
        ),
    }
    return overrides, extras


def _groups(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(
        isinstance(g, dict) and isinstance(g.get("GroupId"), str) for g in raw
    ):
        raise UsageError(f'{where}.SecurityGroups must be a list of {{"GroupId": "sg-..."}}')
    return tuple(g["GroupId"] for g in raw)


def _one_template(specs: list[dict[str, Any]]) -> dict[str, Any]:
    """The template fields every specification agrees on (a fleet takes one of each)."""
    merged: dict[str, Any] = {}
    for key in TEMPLATE_FIELDS:
        values = [spec.get(key) for spec in specs]
        if any(v is not None for v in values):
            if any(v != values[0] for v in values):
                raise UsageError(
                    f"{key} differs between the launch specifications; a fleet takes one "
                    "for every instance"
                )
            merged[key] = values[0]
    return merged


HONOURED = (
    "LaunchSpecifications",
    "AllocationStrategy",
    "SpotPrice",
    "SpotMaxTotalPrice",
    "InstancePoolsToUseCount",
    "TagSpecifications",
)


def _request_notes(config: Mapping[str, Any], source: str) -> list[str]:
    """What is said of the request's fields that are not carried over; an error for one
    that cannot be honoured."""
    notes = []
    for key, value in config.items():
        if key in REFUSED:
            raise UsageError(f"{source}: {key} cannot be used: {REFUSED[key]}")
        if key in ONLY:
            allowed, why = ONLY[key]
            if value not in allowed:
                raise UsageError(f"{source}: {key} {value!r} cannot be kept: {why}")
            notes.append(f"{key} {value!r}: {why}")
        elif key in IGNORED:
            notes.append(f"{key} is ignored: {IGNORED[key]}")
        elif key not in HONOURED:
            raise UsageError(f"{source}: {key} is not a field this tool can honour")
    return notes


def plan_from_config(config: Any, source: str = "the spot fleet config") -> SpotFleetPlan:
    """The plan, or a one-line UsageError naming the field that cannot be honoured."""
    if isinstance(config, Mapping) and set(config) in (
        {"SpotFleetRequestConfig"},
        {"SpotFleetRequestConfig", "DryRun"},
    ):
        config = config["SpotFleetRequestConfig"]  # the AWS CLI skeleton's wrapper
    if not isinstance(config, Mapping):
        raise UsageError(f"{source} must be a JSON object")
    notes = _request_notes(config, source)
    specs = config.get("LaunchSpecifications")
    if not isinstance(specs, list) or not specs:
        raise UsageError(f"{source} needs LaunchSpecifications (a list, at least one)")
    spot_price = _price(config["SpotPrice"], "SpotPrice") if "SpotPrice" in config else None
    overrides: list[FleetOverride] = []
    extras = []
    for number, raw in enumerate(specs):
        found, extra = _spec(raw, number, spot_price)
        overrides += found
        extras.append(extra)
    strategy = config.get("AllocationStrategy", DEFAULT_STRATEGY)
    strategy = STRATEGIES.get(strategy, strategy)
    if strategy not in STRATEGIES.values():
        raise UsageError(
            f"{source}: AllocationStrategy {config['AllocationStrategy']!r} is not one of "
            f"{', '.join(STRATEGIES)}"
        )
    pools = config.get("InstancePoolsToUseCount")
    if pools is not None and (isinstance(pools, bool) or not isinstance(pools, int) or pools < 1):
        raise UsageError(f"{source}: InstancePoolsToUseCount must be a whole number above 0")
    tags = _tags(
        config.get("TagSpecifications", []),
        "TagSpecifications",
        ("spot-fleet-request", "fleet", "instance"),
    )
    for extra in extras:
        tags |= extra["tags"]
    return SpotFleetPlan(
        overrides=tuple(overrides),
        allocation_strategy=strategy,
        max_total_price=(
            _price(config["SpotMaxTotalPrice"], "SpotMaxTotalPrice")
            if "SpotMaxTotalPrice" in config
            else None
        ),
        pools_to_use=pools,
        template_data=_one_template([e["template"] for e in extras]),
        tags=tags,
        security_groups=tuple(dict.fromkeys(g for e in extras for g in e["groups"])),
        notes=tuple(notes),
    )


def read_fleet_config(path: Path, flag: str = "-aws-spot-fleet-config-file") -> SpotFleetPlan:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise UsageError(f"{flag} {path} cannot be read: {reason}") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"{flag} {path} is not JSON ({err.msg}, line {err.lineno})") from None
    return plan_from_config(config, f"{flag} {path}")
