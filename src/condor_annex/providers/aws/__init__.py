"""The AWS provider's account side: credentials, setup, check-setup, teardown, reaper."""

from __future__ import annotations

from condor_annex.providers.aws.account import check_setup, reap_now, setup, teardown
from condor_annex.providers.aws.session import aws_session
from condor_annex.providers.aws.setuprecord import SetupRecord, find_setup

__all__ = [
    "SetupRecord",
    "aws_session",
    "check_setup",
    "find_setup",
    "reap_now",
    "setup",
    "teardown",
]
