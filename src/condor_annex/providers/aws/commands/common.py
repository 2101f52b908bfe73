"""What the AWS provider's own commands share: its credential options, and a session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from condor_annex.cli.provideroptions import given, provider_options
from condor_annex.interfaces import Scope

Command = Callable[..., Any]

# --region and the classic key files, as on every command that reaches AWS.
credentials: Callable[[Command], Command] = provider_options(Scope.LOCATION, only="aws")


def session_from(kwargs: dict[str, Any]) -> Any:
    """A boto3 session from the credential options in a command's keyword arguments."""
    from condor_annex.providers.aws.annexes.options import AwsOptions

    return AwsOptions.from_given(given(kwargs).get("aws", {})).session()
