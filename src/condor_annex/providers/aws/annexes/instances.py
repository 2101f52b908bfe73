"""EC2 pieces of the AWS provider: tags, request tokens, finding an annex's instances.

Everything here scales with the annex without scaling the number of calls per instance:
one tag-filtered, paginated DescribeInstances finds an annex of any size, and writes go
out in batches of up to 1000 ids.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.errors import UsageError
from condor_annex.providers.aws.reaper import (
    LIVE_STATES,
    PAGE_SIZE,
    TAG_ANNEX,
    TAG_COLLECTOR,
    TAG_ENDED_BY,
    TAG_LEASE_END,
    TAG_MANAGED,
    TAG_POOL,
    tag_dict,
)
from condor_annex.providers.aws.reaper import batches as _batches

BATCH = 1000  # TerminateInstances and CreateTags take up to 1000 ids per call
CLIENT_TOKEN_MAX = 64


@dataclass(frozen=True)
class Instance:
    """What the provider needs of one described instance."""

    id: str
    state: str
    address: str
    instance_type: str
    spot: bool
    launched: float | None
    annex: str
    pool: str = ""
    ended_by: str = ""  # "lease" once the reaper has ended it

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES


def annex_tags(
    pool: str, annex: str, lease_end: float, collector: str, extra: dict[str, str]
) -> list[dict]:
    """The tags every instance, volume and fleet of the annex carries: the pool's id and
    the annex name (together they name the annex), its lease end, and where its
    collector is.

    User tags come first so they can never override the tool's own keys.
    """
    tags = {k: v for k, v in extra.items() if not k.startswith("condor-annex:")}
    tags |= {
        TAG_POOL: pool,
        TAG_ANNEX: annex,
        TAG_LEASE_END: lease_tag(lease_end),
        TAG_COLLECTOR: collector,
        TAG_MANAGED: "true",
    }
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def lease_tag(lease_end: float) -> str:
    """Whole seconds, rounded up like the worker's lease.config: the reaper never ends an
    instance before the lease end the records hold."""
    return str(math.ceil(lease_end))


def client_token(annex: str, created_at: float, count: int, kind: str) -> str:
    """The same request always yields the same token, so EC2 launches it at most once.

    Built from what identifies the request (annex, its creation time, count and kind of
    launch) and nothing random: a retry after a timeout sends an identical token.
    """
    raw = f"condor-annex|{kind}|{annex}|{created_at!r}|{count}"
    return hashlib.sha256(raw.encode()).hexdigest()[:CLIENT_TOKEN_MAX]


def _epoch(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


def to_instance(raw: dict[str, Any]) -> Instance:
    tags = tag_dict(raw.get("Tags"))
    return Instance(
        id=raw["InstanceId"],
        state=raw["State"]["Name"],
        address=raw.get("PrivateIpAddress", "") or "",
        instance_type=raw.get("InstanceType", ""),
        spot=raw.get("InstanceLifecycle") == "spot",
        launched=_epoch(raw.get("LaunchTime")),
        annex=tags.get(TAG_ANNEX, ""),
        pool=tags.get(TAG_POOL, ""),
        ended_by=tags.get(TAG_ENDED_BY, ""),
    )


def describe_annex(ec2: Any, pool: str, annex: str, live_only: bool = False) -> list[Instance]:
    """Every instance tagged with exactly this pool and annex name (`foo` never matches
    `foobar`, nor another pool's `foo`).

    EC2's tag filter is exact unless the value has wildcards, and neither name can hold
    any; the tags are compared again here all the same.
    """
    filters = [
        {"Name": f"tag:{TAG_POOL}", "Values": [pool]},
        {"Name": f"tag:{TAG_ANNEX}", "Values": [annex]},
    ]
    if live_only:
        filters.append({"Name": "instance-state-name", "Values": list(LIVE_STATES)})
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=filters, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    found = []
    for page in pages:
        for reservation in page["Reservations"]:
            for raw in reservation["Instances"]:
                inst = to_instance(raw)
                if (inst.pool, inst.annex) == (pool, annex):
                    found.append(inst)
    return found


def annex_fleets(ec2: Any, pool: str, annex: str) -> list[str]:
    """Ids of the annex's EC2 fleets not yet deleted (DescribeFleets has no tag filter)."""
    ids = []
    for page in ec2.get_paginator("describe_fleets").paginate():
        for fleet in page.get("Fleets", []):
            tags = tag_dict(fleet.get("Tags"))
            ours = (tags.get(TAG_POOL), tags.get(TAG_ANNEX)) == (pool, annex)
            if ours and not fleet.get("FleetState", "").startswith("deleted"):
                ids.append(fleet["FleetId"])
    return ids


def batches(items: Sequence[str], size: int | None = None) -> Iterator[list[str]]:
    return _batches(items, size or BATCH)


def check_image(ec2: Any, image_id: str) -> None:
    """The image must exist and be visible to the account, or the launch fails later."""
    if not image_id:
        raise UsageError("no image given; use --image AMI or set ANNEX_DEFAULT_ODI_IMAGE_ID")
    try:
        images = ec2.describe_images(ImageIds=[image_id])["Images"]
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        if "InvalidAMIID" in code:
            images = []
        else:
            raise
    if not images:
        raise UsageError(f"image {image_id} does not exist in this region; check --image")
