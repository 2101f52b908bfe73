"""The AWS provider: account side (credentials, setup, check-setup, teardown, reaper) and
instance side (AwsProvider)."""

from __future__ import annotations

from condor_annex.providers.aws.account.commands import check_setup, reap_now, setup, teardown
from condor_annex.providers.aws.account.setuprecord import SetupRecord, find_setup
from condor_annex.providers.aws.annexes.prices import estimated_cost, price_table
from condor_annex.providers.aws.annexes.provider import AwsProvider
from condor_annex.providers.aws.session import aws_session

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
