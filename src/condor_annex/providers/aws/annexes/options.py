"""What a user chooses for AWS annexes, and building an AwsProvider from it.

Defaults follow the classic settings: ANNEX_DEFAULT_ODI_INSTANCE_TYPE and
ANNEX_DEFAULT_ODI_IMAGE_ID from HTCondor config; without them a current general-purpose
type (the classic command keeps m4.large) and no image (create then says to give one).
Building a provider finds the region's setup first, so "not set up" is a one-line
error before anything is asked or spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from condor_annex.errors import UsageError
from condor_annex.providers.aws.account.setuprecord import find_setup
from condor_annex.providers.aws.annexes.provider import AwsProvider
from condor_annex.providers.aws.session import aws_session
from condor_annex.settings import param

DEFAULT_INSTANCE_TYPE = "m7i.large"
CLASSIC_INSTANCE_TYPE = "m4.large"
# HTCondor's own parameter table defaults ANNEX_DEFAULT_ODI_INSTANCE_TYPE to m4.large, so
# that value cannot be told apart from "not set"; `annex` then uses a current type.
HTCONDOR_DEFAULT_TYPE = "m4.large"


@dataclass(frozen=True)
class AwsOptions:
    region: str | None = None
    access_key_file: Path | None = None
    secret_key_file: Path | None = None
    instance_type: str | None = None
    image_id: str | None = None
    spot: bool = False
    instance_types: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    # Extra managed policies for the annex's workers (what its jobs may do in AWS).
    instance_policies: tuple[str, ...] = ()
    # The classic command's default instance type is m4.large.
    classic: bool = False

    @classmethod
    def from_given(cls, given: Mapping[str, Any]) -> AwsOptions:
        """From the provider's option values as the CLI hands them over (by Option.dest)."""
        return cls(
            region=given.get("region"),
            access_key_file=given.get("access_key_file"),
            secret_key_file=given.get("secret_key_file"),
            instance_type=given.get("instance_type"),
            image_id=given.get("image") or given.get("image_id"),
            spot=bool(given.get("spot")),
            instance_types=tuple(given.get("instance_types") or ()),
            tags=dict(given.get("tag") or given.get("tags") or ()),
            instance_policies=tuple(
                given.get("instance_policy") or given.get("instance_policies") or ()
            ),
            classic=bool(given.get("classic")),
        )

    def session(self) -> Any:
        return aws_session(self.region, self.access_key_file, self.secret_key_file)

    def chosen_instance_type(self) -> str:
        if self.instance_type:
            return self.instance_type
        if self.spot and self.instance_types:
            return self.instance_types[0]
        configured = param("ANNEX_DEFAULT_ODI_INSTANCE_TYPE")
        if self.classic:
            return configured or CLASSIC_INSTANCE_TYPE
        if configured == HTCONDOR_DEFAULT_TYPE:
            configured = None
        return configured or DEFAULT_INSTANCE_TYPE

    def chosen_instance_policies(self) -> tuple[str, ...]:
        """--instance-policy, else ANNEX_DEFAULT_INSTANCE_POLICY_ARNS (a pool's seed sets it)."""
        if self.instance_policies:
            return self.instance_policies
        configured = param("ANNEX_DEFAULT_INSTANCE_POLICY_ARNS") or ""
        return tuple(arn.strip() for arn in configured.split(",") if arn.strip())

    def chosen_image(self) -> str:
        return self.image_id or param("ANNEX_DEFAULT_ODI_IMAGE_ID") or ""


def aws_provider(options: AwsOptions, region: str | None = None) -> AwsProvider:
    """A provider for the region (an annex's own region wins over --region)."""
    session = aws_session(
        region or options.region, options.access_key_file, options.secret_key_file
    )
    try:
        record = find_setup(session)
    except (ClientError, BotoCoreError) as err:
        raise UsageError(
            f"cannot reach AWS in {session.region_name} ({err}); check credentials and region"
        ) from None
    if options.spot and not options.instance_types:
        raise UsageError("--spot needs --instance-types a,b,c (several types find capacity)")
    return AwsProvider(
        session,
        record,
        instance_type=options.chosen_instance_type(),
        image_id=options.chosen_image(),
        spot=options.spot,
        instance_types=list(options.instance_types) or None,
        tags=options.tags,
        instance_policies=options.chosen_instance_policies(),
    )
