"""`annex autoscale`: an elastic annex is created with zero workers and a controller part.

Every check runs before anything is written: the request's own rules, the provider's
(`prepare`), that its catalogue lists at least one type the policy allows, that the pool
is up, and on a seed that its condor_master runs the controller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from condor_annex.autoscale.state import ControllerState, ElasticPolicy
from condor_annex.autoscale.supervision import ensure_controller
from condor_annex.durations import format_duration
from condor_annex.errors import Cancelled, UsageError
from condor_annex.model import AnnexRecord
from condor_annex.names import validate_pool_address
from condor_annex.planning import WorkerType
from condor_annex.providers import registry

if TYPE_CHECKING:
    from condor_annex.api import Annexes

Say = Callable[[str], None]
Confirm = Callable[[str], bool]


@dataclass(frozen=True)
class ElasticRequest:
    """What `annex autoscale` asks for; checked by `check()` against the installation."""

    name: str
    lease_seconds: int
    idle_seconds: int
    min_life_seconds: int = 600
    interval_seconds: int = 60
    owners: tuple[str, ...] = ()
    budget_usd: float | None = None
    max_workers: int | None = None
    max_cpus: int | None = None
    max_gpus: int | None = None
    max_cost_per_hour: float | None = None
    pool_address: str | None = None

    def check(self) -> None:
        for flag, value in (
            ("--max-workers", self.max_workers),
            ("--max-cpus", self.max_cpus),
            ("--max-gpus", self.max_gpus),
        ):
            if value is not None and value < 0:
                raise UsageError(f"{flag} {value} is below 0")
        if self.max_cost_per_hour is not None and self.max_cost_per_hour < 0:
            raise UsageError(f"--max-cost-per-hour {self.max_cost_per_hour:g} is below 0")
        if self.interval_seconds > self.idle_seconds:
            raise UsageError(
                f"--interval ({self.interval_seconds}s) is longer than --idle "
                f"({self.idle_seconds}s); the controller must look at least once per idle time"
            )
        if self.min_life_seconds > self.lease_seconds:
            raise UsageError(
                f"--min-life ({self.min_life_seconds}s) is longer than the lease "
                f"({self.lease_seconds}s); shorten it or lengthen --duration"
            )
        if self.pool_address is not None:
            validate_pool_address(self.pool_address)


def autoscale_part(policy: ElasticPolicy | None = None) -> dict[str, Any]:
    """A record's controller part: elastic with a policy, or only a budget (None)."""
    holder = AnnexRecord("x", "", 0, 0.0, 1, 0, 0)
    ControllerState(policy=policy).save(holder)
    assert holder.autoscale is not None
    return holder.autoscale


def storable_options(given: Mapping[str, Any]) -> dict[str, Any]:
    """The provider's options as JSON holds them (paths as text, tuples as lists)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        return value

    return {key: plain(value) for key, value in given.items()}


def restored_options(provider: str, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The options again as the command line hands them to the provider."""
    kinds = {o.dest: o.kind for o in registry.options(provider)}

    def typed(value: Any) -> Any:
        return tuple(typed(v) for v in value) if isinstance(value, list) else value

    return {
        key: Path(value) if kinds.get(key) == "path" and value is not None else typed(value)
        for key, value in stored.items()
    }


def _caps_text(request: ElasticRequest) -> str:
    caps = [
        f"{label} {value:g}" if isinstance(value, float) else f"{label} {value}"
        for label, value in (
            ("workers", request.max_workers),
            ("CPUs", request.max_cpus),
            ("GPUs", request.max_gpus),
            ("$/h", request.max_cost_per_hour),
            ("budget $", request.budget_usd),
        )
        if value is not None
    ]
    return "at most " + ", ".join(caps) if caps else "no caps"


def describe(request: ElasticRequest, provider: str, types: list[WorkerType]) -> str:
    shown = ", ".join(
        f"{t.offering} ${t.price_per_hour:.4f}/h"
        for t in sorted(types, key=lambda t: t.price_per_hour)[:4]
    )
    more = f" and {len(types) - 4} more" if len(types) > 4 else ""
    return (
        f"Will create elastic annex '{request.name}' on provider {provider} with no workers; "
        f"it grows as idle jobs need, from {len(types)} worker types ({shown}{more}), "
        f"{_caps_text(request)}, for {format_duration(request.lease_seconds)}. Workers leave "
        f"after {format_duration(request.idle_seconds)} unclaimed and "
        f"{format_duration(request.min_life_seconds)} of life; the controller looks every "
        f"{format_duration(request.interval_seconds)}."
    )


def create_elastic(
    api: Annexes,
    request: ElasticRequest,
    provider: str | None,
    confirm: Confirm | None,
    say: Say,
) -> AnnexRecord:
    request.check()
    chosen = api.provider(provider)
    api._refuse_foreign_options(chosen.name)
    probe = api.request(  # the plain request's rules: name, owners, lease, idle, budget
        request.name,
        1,
        request.lease_seconds,
        request.idle_seconds,
        owners=request.owners,
        budget_usd=request.budget_usd,
    )
    if request.max_workers is not None and request.max_workers > probe.max_count:
        raise UsageError(
            f"--max-workers {request.max_workers} is above the maximum of {probe.max_count}; "
            "ask for fewer or raise ANNEX_DEFAULT_MAX_COUNT"
        )
    chosen.prepare(probe)
    given = api.options.get(chosen.name, {})
    policy = ElasticPolicy(
        max_workers=request.max_workers if request.max_workers is not None else probe.max_count,
        max_cpus=request.max_cpus,
        max_gpus=request.max_gpus,
        max_cost_per_hour=request.max_cost_per_hour,
        idle_s=request.idle_seconds,
        min_life_s=request.min_life_seconds,
        interval_s=request.interval_seconds,
        provider_options=storable_options(given),
        pool_address=request.pool_address,
    )
    record = AnnexRecord(
        name=request.name,
        provider=chosen.name,
        requested=0,
        lease_end=time.time() + request.lease_seconds,
        idle_seconds=request.idle_seconds,
        cpus=0,
        memory_mb=0,
        location=chosen.location,
        owners=list(request.owners),
        budget_usd=request.budget_usd,
    )
    types = api.catalogue(chosen.name).worker_types()
    if not types:
        raise UsageError(
            f"provider {chosen.name} offers no worker type for this annex; check its options"
        )
    api._pool_for(request.name, chosen, request.pool_address, say)
    summary = describe(request, chosen.name, types)
    say(summary)
    if confirm is not None and not confirm(summary):
        raise Cancelled("nothing was created")
    record.autoscale = autoscale_part(policy)
    with api.store.lock(record.name):
        if api.store.has_annex(record.name):  # another create may have won meanwhile
            api._refuse_if_live(api.store.load_annex(record.name))
        api.store.save_annex(record)
    ensure_controller(api, say)
    return record
