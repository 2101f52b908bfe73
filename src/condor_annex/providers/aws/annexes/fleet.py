"""One decision group of an elastic annex as ONE instant CreateFleet.

The group's types go into the fleet as overrides in price order (priority 0 the chosen,
cheapest type): on-demand with the "prioritized" strategy, spot with
"capacity-optimized-prioritized", so EC2 itself moves to the next type when one has no
capacity, within the same call. What it could not place comes back as errors; the
catalogue avoids those offerings for a while and the next plan asks for the rest.

A launch is idempotent per request id: every instance carries the request id in a tag,
and the fleet's ClientToken derives from it. A launch repeated after its controller was
killed first looks for instances with that tag (and adopts them); on real EC2 the token
would also return the first fleet's answer instead of launching again.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any

from condor_annex.interfaces import Observation, Seen
from condor_annex.model import AnnexRecord
from condor_annex.planning import Launch
from condor_annex.providers.aws.annexes import instances as ec2x
from condor_annex.providers.aws.annexes.provider import METADATA_OPTIONS, AwsProvider
from condor_annex.providers.aws.reaper import PAGE_SIZE, tag_dict
from condor_annex.workerconfig import WorkerBundle

TAG_REQUEST = "condor-annex:request"
# Fleet error codes that mean "no capacity for this offering now" (the others are faults).
CAPACITY_ERRORS = (
    "InsufficientInstanceCapacity",
    "InsufficientCapacity",
    "UnfulfillableCapacity",
    "MaxSpotInstanceCountExceeded",
    "SpotMaxPriceTooLow",
)


@dataclass
class FleetResult:
    observations: list[Observation] = field(default_factory=list)
    # Instance types EC2 had no capacity for (from the reply's errors).
    no_capacity: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _observations(
    ids_by_type: dict[str, list[str]], launch: Launch, request_id: str, now: float
) -> list[Observation]:
    prices = {t.name: t for t in launch.alternatives}
    found = []
    for name, ids in ids_by_type.items():
        chosen = prices.get(name, launch.type)
        data = {
            "type": name,
            "spot": chosen.spot,
            "price_per_hour": chosen.price_per_hour,
            "request": request_id,
        }
        found += [Observation(i, Seen.STARTED, started_at=now, data=data) for i in ids]
    return found


def launched_for(ec2: Any, pool: str, annex: str, request_id: str) -> dict[str, list[str]]:
    """Live instances that an earlier run of this request launched, by type."""
    filters = [
        {"Name": f"tag:{TAG_REQUEST}", "Values": [request_id]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]},
    ]
    found: dict[str, list[str]] = {}
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=filters, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    for page in pages:
        for reservation in page["Reservations"]:
            for raw in reservation["Instances"]:
                tags = tag_dict(raw.get("Tags"))
                if (tags.get(ec2x.TAG_POOL), tags.get(ec2x.TAG_ANNEX)) == (pool, annex):
                    found.setdefault(raw["InstanceType"], []).append(raw["InstanceId"])
    return found


def _template_version(
    provider: AwsProvider, annex: AnnexRecord, profile_arn: str, user_data: bytes,
    tags: list[dict[str, str]], spot: bool, request_id: str,
) -> int:  # fmt: skip
    """A launch template version with this annex's user data and profile (a fleet takes
    neither directly), based on the setup's default (IMDSv2, the security group and
    terminate-on-shutdown carry over)."""
    kinds = ["instance", "volume"] + (["spot-instances-request"] if spot else [])
    reply = provider.client("ec2").create_launch_template_version(
        LaunchTemplateId=provider.setup.launch_template_id,
        SourceVersion="$Default",
        VersionDescription=f"condor-annex elastic annex {annex.name}"[:255],
        ClientToken=ec2x.client_token(annex.name, annex.created_at, 0, f"lt-{request_id}"),
        LaunchTemplateData={
            "ImageId": provider.image_for(provider.instance_type),
            "IamInstanceProfile": {"Arn": profile_arn},
            "UserData": base64.b64encode(user_data).decode(),
            "MetadataOptions": METADATA_OPTIONS,
            "TagSpecifications": [{"ResourceType": k, "Tags": tags} for k in kinds],
        },
    )
    return int(reply["LaunchTemplateVersion"]["VersionNumber"])


def create_fleet(
    provider: AwsProvider,
    annex: AnnexRecord,
    bundle: WorkerBundle,
    launch: Launch,
    request_id: str,
) -> FleetResult:
    ec2 = provider.client("ec2")
    now = time.time()
    earlier = launched_for(ec2, provider.pool, annex.name, request_id)
    if earlier:
        return FleetResult(_observations(earlier, launch, request_id, now))
    identity, user_data, tags = provider.launch_inputs(annex, bundle)
    tags.append({"Key": TAG_REQUEST, "Value": request_id})
    spot = launch.type.spot
    version = _template_version(
        provider, annex, identity.profile_arn, user_data, tags, spot, request_id
    )
    token = ec2x.client_token(annex.name, annex.created_at, launch.count, f"fleet-{request_id}")
    strategy = (
        {"SpotOptions": {"AllocationStrategy": "capacity-optimized-prioritized"}}
        if spot
        else {"OnDemandOptions": {"AllocationStrategy": "prioritized"}}
    )
    result = FleetResult()

    def launch_once(attempt: int) -> list[tuple[str, str]] | None:
        reply = ec2.create_fleet(
            Type="instant",
            ClientToken=token if attempt == 0 else f"{token[:60]}-r{attempt:02d}",
            TargetCapacitySpecification={
                "TotalTargetCapacity": launch.count,
                "DefaultTargetCapacityType": "spot" if spot else "on-demand",
            },
            **strategy,
            LaunchTemplateConfigs=[
                {
                    "LaunchTemplateSpecification": {
                        "LaunchTemplateId": provider.setup.launch_template_id,
                        "Version": str(version),
                    },
                    "Overrides": [
                        {
                            "InstanceType": t.name,
                            "ImageId": provider.image_for(t.name),
                            "Priority": float(i),
                        }
                        for i, t in enumerate(launch.alternatives)
                    ],
                }
            ],
            TagSpecifications=[
                {"ResourceType": "fleet", "Tags": tags},
                {"ResourceType": "instance", "Tags": tags},
            ],
        )
        errors = reply.get("Errors", [])
        by_type: dict[str, list[str]] = {}
        for group in reply.get("Instances", []):
            name = str(group.get("InstanceType", launch.type.name))
            by_type.setdefault(name, []).extend(group.get("InstanceIds", []))
        if not by_type and errors and all(_profile_not_ready(e) for e in errors):
            return None  # IAM has not propagated the new profile yet: try again
        result.observations = _observations(by_type, launch, request_id, time.time())
        for error in errors:
            name = str(error.get("LaunchTemplateAndOverrides", {}).get("Overrides", {}).get(
                "InstanceType", ""
            ))  # fmt: skip
            if error.get("ErrorCode") in CAPACITY_ERRORS and name:
                result.no_capacity.append(name)
            code, message = error.get("ErrorCode"), error.get("ErrorMessage", "")
            result.errors.append(f"{name or '?'}: {code}: {message}")
        return [(o.id, "") for o in result.observations]

    try:
        provider._retrying(launch_once)
    finally:
        provider._drop_version(version)
    return result


def _profile_not_ready(error: dict[str, Any]) -> bool:
    text = str(error.get("ErrorMessage", "")).lower()
    return "iaminstanceprofile" in text or "instance profile" in text
