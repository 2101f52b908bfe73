"""On-demand prices from the AWS Price List API, when it answers.

The Price List (`pricing` service) answers only in a few regions, us-east-1 among them,
for every region's prices. One GetProducts call per instance type (Linux, shared tenancy,
no pre-installed software, capacity in use) gives its on-demand price per hour. When the
service cannot be reached or says nothing, callers fall back to the shipped, dated table
(prices.py), and say so.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

PRICING_REGION = "us-east-1"
# One quick try: the table is there when the service is not.
QUICK = Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 1})


def pricing_client(session: Any) -> Any:
    return session.client("pricing", region_name=PRICING_REGION, config=QUICK)


def product_filters(region: str, instance_type: str) -> list[dict[str, str]]:
    wanted = {
        "instanceType": instance_type,
        "regionCode": region,
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
    }
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in wanted.items()]


def _on_demand_usd(product: dict[str, Any]) -> float | None:
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = float(dimension.get("pricePerUnit", {}).get("USD", 0) or 0)
            if usd > 0 and dimension.get("unit", "Hrs") == "Hrs":
                return usd
    return None


def on_demand_prices(client: Any, region: str, types: list[str]) -> dict[str, float]:
    """Hourly on-demand prices of `types` in `region`; empty when the service does not
    answer (the first failure stops the lookups: the rest would fail alike)."""
    found: dict[str, float] = {}
    for instance_type in types:
        try:
            reply = client.get_products(
                ServiceCode="AmazonEC2",
                Filters=product_filters(region, instance_type),
                FormatVersion="aws_v1",
                MaxResults=10,
            )
        except (ClientError, BotoCoreError, ResponseParserError):
            return found
        for raw in reply.get("PriceList", []):
            price = _on_demand_usd(json.loads(raw) if isinstance(raw, str) else raw)
            if price is not None:
                found[instance_type] = price
                break
    return found
