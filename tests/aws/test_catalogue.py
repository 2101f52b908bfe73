"""The AWS catalogue of elastic annexes against moto's server (and botocore's Stubber where
moto differs from AWS, as each test says): types and prices, one CreateFleet per decision
group, the next type after an insufficient-capacity answer, and a spot interruption
replaced by another type."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from tests.aws.test_provider import Calls, annex, bundle
from tests.planning.builders import autocluster

from condor_annex.autoscale.control import taken_away
from condor_annex.autoscale.launching import elastic_bundle
from condor_annex.autoscale.state import ControllerState, ElasticPolicy, policy_of
from condor_annex.errors import AnnexError, UsageError
from condor_annex.lifecycle import GoneReason, WorkerState
from condor_annex.model import AnnexRecord
from condor_annex.planning import Plan, plan
from condor_annex.providers.aws.account.setuprecord import SetupRecord
from condor_annex.providers.aws.annexes import pricelist
from condor_annex.providers.aws.annexes.catalogue import AwsCatalogue, open_aws_catalogue
from condor_annex.providers.aws.annexes.fleet import TAG_REQUEST
from condor_annex.providers.aws.annexes.offerings import MEMORY_OVERHEAD, spot_prices
from condor_annex.providers.aws.annexes.prices import price_table
from condor_annex.settle import settle

from .annexkeys import POOL

REGION = "us-east-1"
TYPES = ("c6i.large", "m6i.large", "r6i.large", "c6i.xlarge")


def catalogue(state: Path, spot: bool = False, types: tuple[str, ...] = TYPES) -> AwsCatalogue:
    options = {"image": "ami-12345678", "instance_types": types, "spot": spot, "region": REGION}
    return open_aws_catalogue(options, "", state, POOL)


def elastic(name: str) -> AnnexRecord:
    record = annex(name, 0)
    ControllerState(policy=ElasticPolicy(idle_s=600, min_life_s=600)).save(record)
    return record


def plan_for(cat: AwsCatalogue, record: AnnexRecord, jobs: int) -> Plan:
    """The controller's decision for `jobs` idle 2-CPU, 3 GB jobs and the annex's workers."""
    state = ControllerState.of(record)
    assert state is not None
    demand = [autocluster(1, jobs, cpus=2, memory_mb=3000)]
    return plan(demand, [], cat.worker_types(), policy_of(record, state.policy), time.time(), 0.0)


def launch_all(cat: AwsCatalogue, record: AnnexRecord, decided: Plan, request: str) -> None:
    work = elastic_bundle(bundle(record), 900)
    for n, group in enumerate(decided.launches):
        seen = cat.launch(record, work, group, f"{request}-{n}")
        settle(record, seen, time.time(), cat.provider.timing)


def test_types_come_from_describe_instance_types_with_prices(
    record: SetupRecord, tmp_path: Path
) -> None:
    cat = catalogue(tmp_path)
    calls = Calls(cat.provider.session)
    types = {t.name: t for t in cat.worker_types()}
    assert set(types) == set(TYPES)
    large = types["m6i.large"]
    # moto gives the real shapes; the slot offers the memory less the kernel's share.
    assert (large.cpus, large.gpus, large.arch, large.spot) == (2, 0, "X86_64", False)
    assert large.memory_mb == int(8192 * (1 - MEMORY_OVERHEAD))
    assert types["r6i.large"].memory_mb == int(16384 * (1 - MEMORY_OVERHEAD))
    # moto has no Price List API: the on-demand prices are the shipped, dated table's.
    table = price_table()
    assert {n: t.price_per_hour for n, t in types.items()} == {n: table.prices[n] for n in TYPES}
    assert cat.price_source == f"the table of {table.as_of}"
    assert calls.names["DescribeInstanceTypes"] == 1

    # Shapes are cached (in the provider's state directory, so across processes too).
    again = catalogue(tmp_path)
    later = Calls(again.provider.session)
    assert {t.name for t in again.worker_types()} == set(TYPES)
    assert later.names["DescribeInstanceTypes"] == 0


def test_unknown_instance_types_are_a_usage_error(record: SetupRecord, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"nope\.large.*check --instance-types"):
        catalogue(tmp_path, types=("m6i.large", "nope.large")).worker_types()


def _price_product(instance_type: str, usd: str) -> str:
    return json.dumps(
        {
            "product": {"attributes": {"instanceType": instance_type, "regionCode": REGION}},
            "terms": {
                "OnDemand": {
                    "T1": {"priceDimensions": {"D1": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}}}
                }
            },
        }
    )


def test_the_price_list_lookup(
    monkeypatch: pytest.MonkeyPatch, record: SetupRecord, tmp_path: Path
) -> None:
    """Stubber, because moto has no Price List API: the request asks for Linux, shared
    tenancy, used capacity in the annex's region; the answer's on-demand price wins over
    the table; it is asked once a day; and when the service fails, the table is used."""
    client = boto3.client("pricing", region_name="us-east-1")
    stub = Stubber(client)
    for name, usd in (("c6i.large", "0.0811"), ("m6i.large", "0.0922")):
        stub.add_response(
            "get_products",
            {"PriceList": [_price_product(name, usd)], "FormatVersion": "aws_v1"},
            {
                "ServiceCode": "AmazonEC2",
                "Filters": pricelist.product_filters(REGION, name),
                "FormatVersion": "aws_v1",
                "MaxResults": 10,
            },
        )
    monkeypatch.setattr(
        "condor_annex.providers.aws.annexes.catalogue.pricing_client", lambda _session: client
    )
    with stub:
        cat = catalogue(tmp_path, types=("c6i.large", "m6i.large"))
        assert {t.name: t.price_per_hour for t in cat.worker_types()} == {
            "c6i.large": 0.0811,
            "m6i.large": 0.0922,
        }
        assert cat.price_source == "the AWS Price List"
        cat.worker_types()  # cached: the stub has no more answers, so no call was made
        stub.assert_no_pending_responses()
    filters = {f["Field"]: f["Value"] for f in pricelist.product_filters(REGION, "m6i.large")}
    assert filters["operatingSystem"] == "Linux" and filters["tenancy"] == "Shared"

    failing = boto3.client("pricing", region_name="us-east-1")
    with Stubber(failing) as down:
        down.add_client_error("get_products", "AccessDeniedException", http_status_code=403)
        assert pricelist.on_demand_prices(failing, REGION, ["r6i.large"]) == {}


def test_spot_prices_come_from_the_spot_price_history(record: SetupRecord, tmp_path: Path) -> None:
    # moto answers DescribeSpotPriceHistory with a constant stub price in every zone.
    cat = catalogue(tmp_path, spot=True)
    types = cat.worker_types()
    assert {t.name for t in types} == set(TYPES) and all(t.spot for t in types)
    assert {t.price_per_hour for t in types} == {0.00001}

    # Stubber for what moto cannot show: the latest price of each zone, the highest zone.
    ec2 = boto3.client("ec2", region_name=REGION)
    old, new = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
    history = [
        {
            "InstanceType": "m6i.large",
            "AvailabilityZone": "a",
            "SpotPrice": "0.05",
            "Timestamp": old,
        },
        {
            "InstanceType": "m6i.large",
            "AvailabilityZone": "a",
            "SpotPrice": "0.03",
            "Timestamp": new,
        },
        {
            "InstanceType": "m6i.large",
            "AvailabilityZone": "b",
            "SpotPrice": "0.04",
            "Timestamp": new,
        },
    ]
    with Stubber(ec2) as stub:
        stub.add_response("describe_spot_price_history", {"SpotPriceHistory": history})
        assert spot_prices(ec2, ["m6i.large"]) == {"m6i.large": 0.04}


def test_each_decision_group_is_one_create_fleet(
    objects_allowed: SetupRecord, tmp_path: Path
) -> None:
    cat = catalogue(tmp_path)
    calls = Calls(cat.provider.session)
    record = elastic("fleet")
    decided = plan_for(cat, record, jobs=5)
    assert decided.launches and decided.new_workers >= 3
    launch_all(cat, record, decided, "req")
    assert calls.names["CreateFleet"] == len(decided.launches)

    first = decided.launches[0]
    request = calls.params["CreateFleet"][0]
    assert request["Type"] == "instant"
    assert request["TargetCapacitySpecification"]["TotalTargetCapacity"] == first.count
    assert request["TargetCapacitySpecification"]["DefaultTargetCapacityType"] == "on-demand"
    assert request["OnDemandOptions"] == {"AllocationStrategy": "prioritized"}
    overrides = request["LaunchTemplateConfigs"][0]["Overrides"]
    # Price-ordered: the chosen type first; each override may hold the same packing.
    assert [o["InstanceType"] for o in overrides] == [t.name for t in first.alternatives]
    assert [o["Priority"] for o in overrides] == sorted(o["Priority"] for o in overrides)
    assert 0 < len(request["ClientToken"]) <= 64

    ec2 = cat.provider.client("ec2")
    tagged = ec2.describe_instances(Filters=[{"Name": f"tag:{TAG_REQUEST}", "Values": ["req-0"]}])
    ids = {i["InstanceId"] for r in tagged["Reservations"] for i in r["Instances"]}
    assert len(ids) == first.count
    workers = {w.id: w for w in record.workers}
    assert ids <= set(workers)
    assert all(workers[i].data["request"] == "req-0" for i in ids)
    assert all(workers[i].data["price_per_hour"] == first.type.price_per_hour for i in ids)

    # The same request again (a controller killed after launching, restarted) launches
    # nothing more. moto ignores ClientToken, so this holds through the request tag the
    # launch looks for first; on EC2 the token would return the first fleet's answer too.
    calls.clear()
    again = cat.launch(record, elastic_bundle(bundle(record), 900), first, "req-0")
    assert {o.id for o in again} == ids
    assert calls.names["CreateFleet"] == 0


def _answer_no_capacity(instance_type: str, answered: list[str]) -> Any:
    """A before-call hook that answers CreateFleet in EC2's place, once, with an
    insufficient-capacity error for `instance_type` (moto never runs out of capacity)."""

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if answered:
            return None  # the next call goes to moto
        answered.append(instance_type)
        error = {
            "LaunchTemplateAndOverrides": {"Overrides": {"InstanceType": instance_type}},
            "Lifecycle": "on-demand",
            "ErrorCode": "InsufficientInstanceCapacity",
            "ErrorMessage": f"We currently do not have sufficient {instance_type} capacity.",
        }
        reply = {"FleetId": "fleet-no-capacity", "Errors": [error], "Instances": []}
        return AWSResponse("https://ec2.amazonaws.com/", 200, {}, None), reply

    return hook


def test_insufficient_capacity_leads_to_the_next_type(
    objects_allowed: SetupRecord, tmp_path: Path
) -> None:
    cat = catalogue(tmp_path, types=("c6i.large", "m6i.large", "r6i.large"))
    calls = Calls(cat.provider.session)  # before the EC2 client is made, to see its calls
    record = elastic("ice")
    decided = plan_for(cat, record, jobs=1)
    (group,) = decided.launches
    assert group.type.name == "c6i.large"  # the cheapest that fits a 2-CPU, 3 GB job
    answered: list[str] = []
    cat.provider.client("ec2").meta.events.register(
        "before-call.ec2.CreateFleet", _answer_no_capacity("c6i.large", answered)
    )
    with pytest.raises(AnnexError, match="InsufficientInstanceCapacity"):
        cat.launch(record, elastic_bundle(bundle(record), 900), group, "ice-1")
    assert answered == ["c6i.large"]
    (asked,) = calls.params["CreateFleet"]
    assert asked["LaunchTemplateConfigs"][0]["Overrides"][0]["InstanceType"] == "c6i.large"

    # The offering is avoided for a while: the next plan picks the next cheapest type,
    # and its fleet (now moto's) starts it.
    assert "c6i.large" not in {t.name for t in cat.worker_types()}
    (retry,) = plan_for(cat, record, jobs=1).launches
    assert retry.type.name == "m6i.large"
    launch_all(cat, record, plan_for(cat, record, jobs=1), "ice-2")
    (worker,) = record.live_workers
    assert worker.data["type"] == "m6i.large"


def test_a_spot_interruption_is_replaced_with_another_type(
    objects_allowed: SetupRecord, tmp_path: Path
) -> None:
    cat = catalogue(tmp_path, spot=True, types=("c6i.large", "m6i.large"))
    record = elastic("spot")
    launch_all(cat, record, plan_for(cat, record, jobs=2), "spot-1")
    first_type = {str(w.data["type"]) for w in record.live_workers}
    assert len(first_type) == 1 and len(record.live_workers) >= 1
    (lost_type,) = first_type

    # EC2 takes one instance back (moto: terminated from outside, as a spot reclaim does).
    victim = record.live_workers[0]
    cat.provider.client("ec2").terminate_instances(InstanceIds=[victim.id])
    settle(record, cat.provider.query_instances(record), time.time(), cat.provider.timing)
    assert victim.state == WorkerState.GONE and victim.gone_reason == GoneReason.EXITED

    # The controller's rule: gone before its lease with nobody ending it, so taken away.
    state = ControllerState.of(record)
    assert state is not None
    taken = taken_away(record, state)
    assert [w.id for w in taken] == [victim.id]
    cat.lost(record, taken)

    # The replacement is another type: the lost offering is avoided for a while.
    assert lost_type not in {t.name for t in cat.worker_types()}
    before = {w.id for w in record.workers}
    launch_all(cat, record, plan_for(cat, record, jobs=1), "spot-2")
    (replacement,) = [w for w in record.live_workers if w.id not in before]
    assert replacement.data["type"] != lost_type and replacement.data["spot"] is True

    # An interruption notice: the worker drains itself (its slot says Draining) while it
    # still runs; the controller takes that as taken away too, and once only.
    state.lost.append(victim.id)
    notice = taken_away(record, state, draining=[replacement.id])
    assert [w.id for w in notice] == [replacement.id]
    cat.lost(record, notice)
    assert cat.worker_types() == []  # both offerings avoided for a while
