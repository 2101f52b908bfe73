"""Providers: one sub-package each, all implementing `providers.base.Provider`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from condor_annex.errors import UsageError
from condor_annex.providers.base import Provider
from condor_annex.store import Store

if TYPE_CHECKING:
    from condor_annex.providers.aws.annexes.options import AwsOptions

KNOWN = ("local", "aws")


def get_provider(
    name: str, store: Store, aws: AwsOptions | None = None, region: str = ""
) -> Provider:
    """The named provider; `region` (an annex's own) wins over the one in the options."""
    if name == "local":
        from condor_annex.providers.local import LocalProvider

        if aws is not None and aws.launch_flags():
            raise UsageError(
                f"{', '.join(aws.launch_flags())} only apply to --provider aws; "
                "leave them out or choose aws"
            )
        return LocalProvider(store)
    if name == "aws":
        # Imported here so the local provider never needs boto3 loaded.
        from condor_annex.providers.aws.annexes.options import AwsOptions, aws_provider

        return aws_provider(aws or AwsOptions(), region or None)
    raise UsageError(f"unknown provider {name!r}; choose one of: {', '.join(KNOWN)}")


__all__ = ["KNOWN", "Provider", "get_provider"]
