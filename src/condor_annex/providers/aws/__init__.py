"""The AWS provider: account side (credentials, setup, check-setup, teardown, reaper) and
instance side (AwsProvider)."""

from __future__ import annotations

from condor_annex.providers.aws.account import check_setup, reap_now, setup, teardown
from condor_annex.providers.aws.prices import estimated_cost, price_table
from condor_annex.providers.aws.provider import AwsProvider
from condor_annex.providers.aws.session import aws_session
from condor_annex.providers.aws.setuprecord import SetupRecord, find_setup

__all__ = [
    "AwsProvider",
    "SetupRecord",
    "aws_session",
    "check_setup",
    "estimated_cost",
    "find_setup",
    "price_table",
    "reap_now",
    "setup",
    "teardown",
]
