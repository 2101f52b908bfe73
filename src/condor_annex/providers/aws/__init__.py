"""The AWS provider: account side (setup, check-setup, teardown, the lease reaper), annexes
of EC2 instances, whole pools in the cloud, and images.

This module is what the registry reads (see interfaces/plugin.py), so it imports nothing
heavy: boto3 and the rest load only when a provider, capability or name below is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from condor_annex.interfaces import Context, Option, Scope

if TYPE_CHECKING:
    import click

    from condor_annex.interfaces import Account, Catalogue, LeaseReaper, Provider

NAME = "aws"
SUMMARY = "EC2 instances, on-demand or spot (needs 'annex setup' once per region)"
OPTIONS: tuple[Option, ...] = (
    Option(
        "--region",
        "AWS region [default: ANNEX_DEFAULT_AWS_REGION, the AWS configuration, else us-east-1].",
        scope=Scope.LOCATION,
    ),
    Option(
        "--access-key-file",
        "File holding the access key id (mode 0600) "
        "[default: ANNEX_DEFAULT_ACCESS_KEY_FILE, else the AWS credential chain].",
        kind="path",
        scope=Scope.LOCATION,
    ),
    Option(
        "--secret-key-file",
        "File holding the secret access key (mode 0600) [default: ANNEX_DEFAULT_SECRET_KEY_FILE].",
        kind="path",
        scope=Scope.LOCATION,
    ),
    Option(
        "--instance-type",
        "EC2 instance type [default: ANNEX_DEFAULT_ODI_INSTANCE_TYPE, else m7i.large].",
    ),
    Option(
        "--image",
        "AMI id [default: the region's ANNEX_DEFAULT_ODI_IMAGE_ID, which 'annex image build' "
        "records; else Amazon Linux 2023, installing HTCondor at boot].",
        metavar="AMI",
    ),
    Option("--spot", "Spot instances (needs --instance-types).", kind="flag"),
    Option("--instance-types", "With --spot: a,b,c, chosen capacity-optimized.", kind="list"),
    Option("--tag", "KEY=VALUE on every instance.", kind="pairs"),
    Option(
        "--instance-policy",
        "IAM policy ARN added to the workers' role (what jobs may do in AWS).",
        kind="repeat",
    ),
    Option("--key-name", "EC2 key pair for the workers (it must exist).", metavar="KEY"),
    Option(
        "--security-group",
        "Security group id added to the setup's own (repeatable; the setup's has no inbound rule).",
        kind="repeat",
        metavar="SG",
    ),
    Option(
        "--user-data-file",
        "cloud-init user data run after the worker's own boot script (multi-part user data).",
        kind="path",
    ),
    Option(
        "--config-dir",
        "Copy this directory's files into each worker's HTCondor configuration directory.",
        kind="path",
        metavar="DIR",
    ),
    Option(
        "--config-file",
        "Where to record the region's ANNEX_DEFAULT_* values [default: ~/.condor/user_config].",
        kind="path",
        scope=Scope.SETUP,
    ),
)
CAPABILITIES = frozenset({"renew", "account", "reaper", "catalogue", "commands"})


def open_provider(context: Context, options: Mapping[str, Any], location: str) -> Provider:
    from condor_annex.providers.aws.annexes.options import AwsOptions, aws_provider

    return aws_provider(AwsOptions.from_given(options), context.pool_id(), location or None)


def open_catalogue(context: Context, options: Mapping[str, Any], location: str) -> Catalogue:
    from condor_annex.providers.aws.annexes.catalogue import open_aws_catalogue

    return open_aws_catalogue(options, location, context.state_dir(NAME), context.pool_id())


def open_account(context: Context, options: Mapping[str, Any]) -> Account:
    from condor_annex.providers.aws.account.capability import AwsAccount

    return AwsAccount(options)


def open_reaper(context: Context, options: Mapping[str, Any]) -> LeaseReaper:
    from condor_annex.providers.aws.account.capability import AwsReaper

    return AwsReaper(options)


def add_commands(cli: click.Group, say: Any) -> None:
    from condor_annex.providers.aws.commands import register

    register(cli, say)


# The package's public names, loaded on first use (they need boto3).
_LAZY = {
    "AwsProvider": "condor_annex.providers.aws.annexes.provider",
    "SetupRecord": "condor_annex.providers.aws.account.setuprecord",
    "find_setup": "condor_annex.providers.aws.account.setuprecord",
    "aws_session": "condor_annex.providers.aws.session",
    "check_setup": "condor_annex.providers.aws.account.commands",
    "reap_now": "condor_annex.providers.aws.account.commands",
    "setup": "condor_annex.providers.aws.account.commands",
    "teardown": "condor_annex.providers.aws.account.commands",
    "estimated_cost": "condor_annex.providers.aws.annexes.prices",
    "price_table": "condor_annex.providers.aws.annexes.prices",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [  # noqa: RUF022 - the plug-in's exports, then the lazily loaded names
    "CAPABILITIES",
    "NAME",
    "OPTIONS",
    "SUMMARY",
    "add_commands",
    "open_account",
    "open_catalogue",
    "open_provider",
    "open_reaper",
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
