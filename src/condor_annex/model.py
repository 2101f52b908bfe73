"""What an annex is: the request a user makes and the records kept while it lives."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from condor_annex.errors import UsageError
from condor_annex.lifecycle import GoneReason, WorkerState, transition
from condor_annex.names import validate_name, validate_owner


@dataclass(frozen=True)
class AnnexRequest:
    """A validated request for N workers; building one checks every field."""

    name: str
    count: int
    lease_seconds: int
    idle_seconds: int
    cpus: int = 1
    memory_mb: int = 1024
    max_count: int = 50
    # Only these users' jobs run on the annex; empty: any job of the pool.
    owners: tuple[str, ...] = ()
    # Dollars the annex may spend in all; once spent, it drains and ends. None: no limit.
    budget_usd: float | None = None

    def __post_init__(self) -> None:
        validate_name(self.name)
        for owner in self.owners:
            validate_owner(owner)
        if self.count < 1:
            raise UsageError(f"count {self.count} is below 1; ask for at least one worker")
        if self.count > self.max_count:
            raise UsageError(
                f"count {self.count} is above the maximum of {self.max_count}; "
                "ask for fewer or raise ANNEX_DEFAULT_MAX_COUNT"
            )
        if self.lease_seconds < 1 or self.idle_seconds < 1:
            raise UsageError("lease and idle time must each be at least 1 second")
        if self.idle_seconds > self.lease_seconds:
            raise UsageError(
                f"idle time ({self.idle_seconds}s) is longer than the lease "
                f"({self.lease_seconds}s); shorten --idle or lengthen --duration"
            )
        if self.cpus < 1:
            raise UsageError(f"cpus {self.cpus} is below 1")
        if self.memory_mb < 64:
            raise UsageError(f"memory {self.memory_mb}M is below 64M")
        if self.budget_usd is not None and self.budget_usd <= 0:
            raise UsageError(f"budget ${self.budget_usd:g} is not above 0; give a positive one")


@dataclass
class WorkerRecord:
    id: str
    address: str
    state: WorkerState = WorkerState.REQUESTED
    gone_reason: GoneReason | None = None
    started_at: float | None = None
    ended_at: float | None = None
    # The provider's own words for where the worker is (a batch system's reason).
    detail: str = ""
    # Per-worker provider data, opaque to the core (process ids, batch job ids).
    data: dict[str, Any] = field(default_factory=dict)

    def move_to(self, state: WorkerState, reason: GoneReason | None = None) -> None:
        self.state = transition(self.state, state)
        if state == WorkerState.GONE and self.ended_at is None:
            self.gone_reason = reason
            self.ended_at = time.time()

    @property
    def alive(self) -> bool:
        return self.state != WorkerState.GONE


@dataclass
class AnnexRecord:
    name: str
    provider: str
    requested: int
    lease_end: float
    idle_seconds: int
    cpus: int
    memory_mb: int
    created_at: float = field(default_factory=time.time)
    off_requested: bool = False
    workers: list[WorkerRecord] = field(default_factory=list)
    # Where within the provider the workers run (a region, a cluster, a host; "" for one).
    location: str = ""
    owners: list[str] = field(default_factory=list)
    # Per-annex provider data, opaque to the core (what later commands need to find it).
    provider_data: dict[str, Any] = field(default_factory=dict)
    # Dollars the annex may spend in all (None: no limit), and the nominal price of one
    # worker of a plain annex (None: unknown or free); elastic workers carry their own.
    budget_usd: float | None = None
    price_per_hour: float | None = None
    # The controller's part (elastic annexes, and any annex with a budget): its policy and
    # what it decided, persisted so a restarted controller picks up where it stopped. The
    # shape is condor_annex.autoscale.state's; None: no controller watches this annex.
    autoscale: dict[str, Any] | None = None

    @classmethod
    def from_request(cls, request: AnnexRequest, provider: str, location: str = "") -> AnnexRecord:
        now = time.time()
        return cls(
            name=request.name,
            provider=provider,
            location=location,
            owners=list(request.owners),
            requested=request.count,
            lease_end=now + request.lease_seconds,
            idle_seconds=request.idle_seconds,
            cpus=request.cpus,
            memory_mb=request.memory_mb,
            created_at=now,
            budget_usd=request.budget_usd,
        )

    @property
    def live_workers(self) -> list[WorkerRecord]:
        return [w for w in self.workers if w.alive]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnnexRecord:
        fields = {k: v for k, v in data.items() if k != "workers"}
        if "region" in fields:  # records written before locations (0.1)
            fields["location"] = fields.pop("region")
        workers = []
        for raw in data.get("workers", []):
            w = dict(raw)
            w["state"] = WorkerState(w["state"])
            w["gone_reason"] = GoneReason(w["gone_reason"]) if w.get("gone_reason") else None
            w["data"] = dict(w.get("data") or {})
            for legacy in ("pid", "pid_started"):  # local workers' data before 0.2
                if legacy in w:
                    value = w.pop(legacy)
                    if value is not None:
                        w["data"][legacy] = value
            workers.append(WorkerRecord(**w))
        return cls(**fields, workers=workers)
