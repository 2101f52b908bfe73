"""The AWS lease reaper: the Lambda handler and `annex reap --provider aws` in one module.

Leases live in tags (`condor-annex:lease-end`, epoch seconds, on every instance and fleet
of an annex), so there is no schedule rule per annex and no cap on annexes: one function,
run every minute, pages through everything tagged. On each run it

- terminates every live instance whose own lease has passed (the hard cost bound), and
- for every annex whose leases have all passed (over its instances in any state, so an
  annex whose workers already ended themselves still counts), cancels its fleets and spot
  fleet requests and deletes its configuration objects under `annexes/<pool>/<annex>/`.

An annex is its pool's id and its name together (two pools sharing an account may both
have an annex `foo`; tags `condor-annex:pool` and `condor-annex:annex`). Both are
compared exactly, and object prefixes end in '/': `foo` never touches `foobar`.
The worker ends its own lease too; this is the backstop.

This module is shipped to Lambda on its own (setup inlines its source into the stack as
`index.py`), so it imports only the standard library and boto3. That is also why the tag
names, instance states and batching live here: every other module imports them from this
one, so they exist once and ship with the function.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

TAG_MANAGED = "condor-annex:managed"
TAG_ANNEX = "condor-annex:annex"
TAG_LEASE_END = "condor-annex:lease-end"
TAG_POOL = "condor-annex:pool"  # the pool's id (poolid.py), never an address
# Where the workers' collector is (host:port): finds a cloud pool's workers that were
# launched from elsewhere (pools/poolmembers.py). Informational only.
TAG_COLLECTOR = "condor-annex:collector"
# Set by the reaper on what it ends, so status can say "lease" rather than "exited".
TAG_ENDED_BY = "condor-annex:ended-by"
CONFIG_PREFIX = "annexes/"

LIVE_STATES = ("pending", "running", "stopping", "stopped")
PAGE_SIZE = 1000
TERMINATE_BATCH = 500
DELETE_FLEETS_BATCH = 25  # DeleteFleets takes at most 25 instant fleets per call
CANCEL_SPOT_FLEETS_BATCH = 100
DELETE_OBJECTS_BATCH = 1000  # DeleteObjects takes at most 1000 keys per call


def pool_prefix(pool: str) -> str:
    """The key prefix of every object of one pool's annexes."""
    return f"{CONFIG_PREFIX}{pool}/"


def annex_prefix(pool: str, annex: str) -> str:
    """The key prefix of one annex's objects; the trailing '/' keeps `foo` off `foobar`."""
    return f"{pool_prefix(pool)}{annex}/"


@dataclass
class Clients:
    """The two clients the reaper needs (tests and the CLI may pass their own)."""

    ec2: Any
    s3: Any


@dataclass
class ReapReport:
    """What one run did; `errors` holds per-call failures so one bad call stops nothing."""

    now: float
    expired_annexes: list[str] = field(default_factory=list)
    terminated_instances: list[str] = field(default_factory=list)
    deleted_fleets: list[str] = field(default_factory=list)
    cancelled_spot_fleets: list[str] = field(default_factory=list)
    deleted_objects: int = 0
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"Reaped at {self.now:.0f}: {len(self.expired_annexes)} expired annex(es)"
            + (f" ({', '.join(self.expired_annexes)})" if self.expired_annexes else "")
            + f", {len(self.terminated_instances)} instance(s) terminated,"
            f" {len(self.deleted_fleets) + len(self.cancelled_spot_fleets)} fleet(s) ended,"
            f" {self.deleted_objects} configuration object(s) deleted."
        ]
        out += [f"Error: {e}" for e in self.errors]
        return out


@dataclass
class _Lease:
    """One tagged thing (instance or fleet) as the reaper sees it."""

    kind: str  # "instance", "fleet" or "spot-fleet"
    id: str
    pool: str
    annex: str
    lease_end: float | None
    live: bool

    @classmethod
    def of(cls, kind: str, id: str, tags: dict[str, str], live: bool) -> _Lease:
        return cls(
            kind, id, tags.get(TAG_POOL, ""), tags.get(TAG_ANNEX, ""), _lease_end(tags), live
        )


def tag_dict(items: Iterable[dict[str, str]] | None) -> dict[str, str]:
    """AWS's [{"Key": k, "Value": v}] tag lists as a dict."""
    return {t["Key"]: t["Value"] for t in items or ()}


def _lease_end(tags: dict[str, str]) -> float | None:
    try:
        return float(tags[TAG_LEASE_END])
    except (KeyError, ValueError):
        return None


def _valid_annex(pool: str, name: str) -> bool:
    """Only a whole (pool, annex) pair names one annex's objects."""
    return all(part and "/" not in part and part not in {".", ".."} for part in (pool, name))


def _instances(ec2: Any) -> Iterator[_Lease]:
    """Every instance carrying an annex tag, in any state (ended ones still date a lease)."""
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "tag-key", "Values": [TAG_ANNEX]}],
        PaginationConfig={"PageSize": PAGE_SIZE},
    )
    for page in pages:
        for reservation in page["Reservations"]:
            for inst in reservation["Instances"]:
                tags = tag_dict(inst.get("Tags"))
                live = inst["State"]["Name"] in LIVE_STATES
                yield _Lease.of("instance", inst["InstanceId"], tags, live)


def _fleets(ec2: Any) -> Iterator[_Lease]:
    for page in ec2.get_paginator("describe_fleets").paginate():
        for fleet in page.get("Fleets", []):
            tags = tag_dict(fleet.get("Tags"))
            if TAG_ANNEX in tags:
                live = not fleet.get("FleetState", "").startswith("deleted")
                yield _Lease.of("fleet", fleet["FleetId"], tags, live)


def _spot_fleets(ec2: Any) -> Iterator[_Lease]:
    for page in ec2.get_paginator("describe_spot_fleet_requests").paginate():
        for req in page.get("SpotFleetRequestConfigs", []):
            tags = tag_dict(req.get("Tags"))
            if TAG_ANNEX in tags:
                live = not req.get("SpotFleetRequestState", "").startswith("cancelled")
                yield _Lease.of("spot-fleet", req["SpotFleetRequestId"], tags, live)


def batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
    """Consecutive slices of at most `size` ids (AWS calls take a bounded list)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _call(report: ReapReport, what: str, fn: Any, **kwargs: Any) -> Any:
    """One AWS call whose failure is reported and does not stop the rest of the run."""
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as err:
        report.errors.append(f"{what}: {err}")
        return None


def _terminate(ec2: Any, ids: set[str], report: ReapReport) -> None:
    for batch in batches(sorted(ids), TERMINATE_BATCH):
        # Best effort: the tag only explains the end; terminating is what matters.
        _call(
            report,
            "CreateTags",
            ec2.create_tags,
            Resources=batch,
            Tags=[{"Key": TAG_ENDED_BY, "Value": "lease"}],
        )
        if _call(report, "TerminateInstances", ec2.terminate_instances, InstanceIds=batch):
            report.terminated_instances += batch


def _end_fleets(ec2: Any, leases: list[_Lease], report: ReapReport) -> None:
    fleets = sorted(x.id for x in leases if x.kind == "fleet")
    for batch in batches(fleets, DELETE_FLEETS_BATCH):
        if _call(
            report, "DeleteFleets", ec2.delete_fleets, FleetIds=batch, TerminateInstances=True
        ):
            report.deleted_fleets += batch
    spot = sorted(x.id for x in leases if x.kind == "spot-fleet")
    for batch in batches(spot, CANCEL_SPOT_FLEETS_BATCH):
        if _call(
            report,
            "CancelSpotFleetRequests",
            ec2.cancel_spot_fleet_requests,
            SpotFleetRequestIds=batch,
            TerminateInstances=True,
        ):
            report.cancelled_spot_fleets += batch


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Delete every object under `prefix` (exactly that prefix); returns how many."""
    deleted = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        for start in range(0, len(keys), DELETE_OBJECTS_BATCH):
            chunk = keys[start : start + DELETE_OBJECTS_BATCH]
            deleted += delete_objects(s3, bucket, chunk)
    return deleted


def delete_objects(s3: Any, bucket: str, objects: list[dict[str, str]]) -> int:
    """One DeleteObjects call; per-key failures (it reports them, not raises) raise here."""
    reply = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    errors = reply.get("Errors", [])
    if errors:
        first = errors[0]
        raise ClientError(
            {
                "Error": {
                    "Code": first.get("Code", "DeleteFailed"),
                    "Message": (
                        f"{len(errors)} of {len(objects)} objects not deleted from {bucket}, "
                        f"e.g. {first.get('Key')}: {first.get('Message', '')}"
                    ),
                }
            },
            "DeleteObjects",
        )
    return len(objects)


def reap(session_or_clients: Any, now: float, bucket: str | None = None) -> ReapReport:
    """One reaper run at time `now` (epoch seconds) over the session's region.

    `bucket` is the configuration bucket (default: $ANNEX_BUCKET, as the function gets it);
    without one, objects are left alone and the report says so.
    """
    clients = (
        session_or_clients
        if isinstance(session_or_clients, Clients)
        else Clients(session_or_clients.client("ec2"), session_or_clients.client("s3"))
    )
    bucket = bucket or os.environ.get("ANNEX_BUCKET")
    report = ReapReport(now=now)
    leases = [*_instances(clients.ec2), *_fleets(clients.ec2), *_spot_fleets(clients.ec2)]

    by_annex: dict[tuple[str, str], list[_Lease]] = {}
    for lease in leases:
        if _valid_annex(lease.pool, lease.annex):
            by_annex.setdefault((lease.pool, lease.annex), []).append(lease)
    overdue = {
        x.id
        for x in leases
        if x.kind == "instance" and x.live and x.lease_end is not None and x.lease_end <= now
    }

    for (pool, annex), items in sorted(by_annex.items()):
        ends = [x.lease_end for x in items if x.lease_end is not None]
        if not ends or max(ends) > now:
            continue  # no lease on it, or some part of it is still leased
        live = [x for x in items if x.live]
        report.expired_annexes.append(f"{pool}/{annex}")
        overdue.update(x.id for x in live if x.kind == "instance")
        _end_fleets(clients.ec2, [x for x in live if x.kind != "instance"], report)
        if bucket:
            prefix = annex_prefix(pool, annex)
            try:
                report.deleted_objects += delete_prefix(clients.s3, bucket, prefix)
            except (ClientError, BotoCoreError) as err:
                report.errors.append(f"deleting {prefix} in {bucket}: {err}")
    if report.expired_annexes and not bucket:
        report.errors.append("no configuration bucket given; expired annexes' objects remain")
    _terminate(clients.ec2, overdue, report)
    return report


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point, run every minute by the setup's EventBridge schedule."""
    report = reap(Clients(boto3.client("ec2"), boto3.client("s3")), time.time())
    print(json.dumps(asdict(report)))
    if report.errors:
        raise RuntimeError("; ".join(report.errors))
    return asdict(report)
