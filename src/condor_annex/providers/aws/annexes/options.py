"""What a user chooses for AWS annexes, and building an AwsProvider from it.

Defaults follow the classic settings: ANNEX_DEFAULT_ODI_INSTANCE_TYPE and the region's
ANNEX_DEFAULT_ODI_IMAGE_ID (set in HTCondor config, or recorded by `annex image build`);
without them a current general-purpose type (the classic command keeps m4.large) and the
region's Amazon Linux 2023, which installs HTCondor at boot (stockimage.py). Files named
by options (user data, a config directory, a spot fleet config) are read and checked
here, and building a provider finds the region's setup first, so bad input and "not set
up" are one-line errors before anything is asked or spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from condor_annex.errors import UsageError
from condor_annex.providers.aws.account.condorconfig import configured_value
from condor_annex.providers.aws.account.setuprecord import SetupRecord, find_setup
from condor_annex.providers.aws.annexes.configdir import ConfigFile, read_config_dir
from condor_annex.providers.aws.annexes.provider import AwsProvider
from condor_annex.providers.aws.annexes.spotfleetconfig import SpotFleetPlan, read_fleet_config
from condor_annex.providers.aws.annexes.userdata import UserPart, read_user_data, user_parts
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
    key_name: str | None = None
    # Added to the setup's security group.
    security_groups: tuple[str, ...] = ()
    # The user's own user data, run after the boot script.
    user_data: tuple[UserPart, ...] = ()
    # Extra HTCondor configuration files for every worker.
    config_files: tuple[ConfigFile, ...] = ()
    # A classic spot fleet request, mapped onto the annex's fleet launch.
    fleet: SpotFleetPlan | None = None
    # Service name -> endpoint URL (the classic -aws-*-url flags).
    endpoints: dict[str, str] = field(default_factory=dict)
    # Credentials from the instance's role only (-setup FROM INSTANCE).
    from_instance: bool = False

    @classmethod
    def from_given(cls, given: Mapping[str, Any]) -> AwsOptions:
        """From the provider's option values as the CLI hands them over (by Option.dest).

        Files are read and checked here, so a bad one is an error before anything is made.
        """
        parts: tuple[UserPart, ...] = ()
        if given.get("user_data_file"):
            parts = read_user_data(Path(given["user_data_file"]), "--user-data-file")
        elif given.get("user_data"):
            parts = user_parts(str(given["user_data"]).encode(), "--user-data")
        fleet_config = given.get("fleet_config")
        config_dir = given.get("config_dir")
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
            key_name=given.get("key_name") or None,
            security_groups=tuple(
                group.strip()
                for value in given.get("security_group") or ()
                for group in str(value).split(",")
                if group.strip()
            ),
            user_data=parts,
            config_files=read_config_dir(Path(config_dir)) if config_dir else (),
            fleet=read_fleet_config(Path(fleet_config)) if fleet_config else None,
            endpoints=dict(given.get("endpoints") or {}),
            from_instance=bool(given.get("from_instance")),
        )

    def session(self, region: str | None = None) -> Any:
        return aws_session(
            region or self.region,
            self.access_key_file,
            self.secret_key_file,
            endpoints=self.endpoints,
            from_instance=self.from_instance,
        )

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

    def chosen_image(self, region: str | None = None) -> str:
        """--image, else the region's configured or recorded default; "" for none (then
        the region's Amazon Linux 2023, installing HTCondor at boot)."""
        return self.image_id or configured_value("ANNEX_DEFAULT_ODI_IMAGE_ID", region) or ""

    def fleet_choices(self, setup: SetupRecord) -> tuple[list[str] | None, dict[str, str], str]:
        """With a spot fleet config: its instance types, the tags (the options' win) and
        the key pair; a config that names another security group or key is an error."""
        tags = dict(self.tags)
        if self.fleet is None:
            return list(self.instance_types) or None, tags, self.key_name or ""
        others = [g for g in self.fleet.security_groups if g != setup.security_group_id]
        if others:
            raise UsageError(
                f"SecurityGroups {', '.join(others)} cannot be used: workers use the setup's "
                f"security group ({setup.security_group_id})"
            )
        key = self.fleet.template_data.get("KeyName")
        if key and self.key_name and key != self.key_name:
            raise UsageError(f"KeyName {key!r} in the spot fleet config conflicts with --key-name")
        return self.fleet.instance_types, {**self.fleet.tags, **tags}, self.key_name or ""


def aws_provider(options: AwsOptions, pool: str, region: str | None = None) -> AwsProvider:
    """A provider for the pool's annexes in the region (an annex's own region wins over
    --region)."""
    session = options.session(region)
    try:
        record = find_setup(session)
    except (ClientError, BotoCoreError) as err:
        raise UsageError(
            f"cannot reach AWS in {session.region_name} ({err}); check credentials and region"
        ) from None
    if options.spot and not options.instance_types and options.fleet is None:
        raise UsageError("--spot needs --instance-types a,b,c (several types find capacity)")
    instance_types, tags, key_name = options.fleet_choices(record)
    return AwsProvider(
        session,
        record,
        instance_type=options.chosen_instance_type(),
        image_id=options.chosen_image(session.region_name),
        spot=options.spot or options.fleet is not None,
        instance_types=instance_types,
        tags=tags,
        pool=pool,
        instance_policies=options.chosen_instance_policies(),
        key_name=key_name,
        security_groups=options.security_groups,
        user_data=options.user_data,
        config_files=options.config_files,
        fleet=options.fleet,
    )
