"""Click options for AWS, shared by every command that reaches AWS.

`credentials` (--region and the classic key files) go on every such command; `launch`
(instance type, image, spot, tags) only on `create`. Both end up in one AwsOptions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from condor_annex.cli.params import TAG, TYPE_LIST

Command = Callable[..., Any]


def _apply(command: Command, options: list[Callable[[Command], Command]]) -> Command:
    for option in reversed(options):
        command = option(command)
    return command


def credentials(command: Command) -> Command:
    return _apply(
        command,
        [
            click.option(
                "--region",
                help="AWS region [default: ANNEX_DEFAULT_AWS_REGION, "
                "the AWS configuration, else us-east-1].",
            ),
            click.option(
                "--access-key-file",
                type=click.Path(path_type=Path),
                help="File holding the access key id (mode 0600) "
                "[default: ANNEX_DEFAULT_ACCESS_KEY_FILE, else the AWS credential chain].",
            ),
            click.option(
                "--secret-key-file",
                type=click.Path(path_type=Path),
                help="File holding the secret access key (mode 0600) "
                "[default: ANNEX_DEFAULT_SECRET_KEY_FILE].",
            ),
        ],
    )


def launch(command: Command) -> Command:
    return _apply(
        command,
        [
            click.option(
                "--instance-type",
                help="EC2 instance type [default: ANNEX_DEFAULT_ODI_INSTANCE_TYPE, else "
                "m7i.large].",
            ),
            click.option("--image", help="AMI id [default: ANNEX_DEFAULT_ODI_IMAGE_ID]."),
            click.option("--spot", is_flag=True, help="Spot instances (needs --instance-types)."),
            click.option(
                "--instance-types",
                type=TYPE_LIST,
                help="With --spot: a,b,c, chosen capacity-optimized.",
            ),
            click.option(
                "--tag", "tags", type=TAG, multiple=True, help="KEY=VALUE on every instance."
            ),
            click.option(
                "--instance-policy",
                "instance_policies",
                multiple=True,
                help="IAM policy ARN added to the workers' role (what jobs may do in AWS).",
            ),
            click.option(
                "--pool-address",
                help="HOST[:PORT] of the collector as workers reach it "
                "[default: the pool's own address].",
            ),
        ],
    )


def aws_options(kwargs: dict[str, Any]) -> Any:
    """Pop the options above from a command's keyword arguments into one AwsOptions, or
    None when none was given (so local-only commands never load boto3)."""
    values = {
        "region": kwargs.pop("region", None),
        "access_key_file": kwargs.pop("access_key_file", None),
        "secret_key_file": kwargs.pop("secret_key_file", None),
        "instance_type": kwargs.pop("instance_type", None),
        "image_id": kwargs.pop("image", None),
        "spot": kwargs.pop("spot", False),
        "instance_types": kwargs.pop("instance_types", None) or (),
        "tags": dict(kwargs.pop("tags", ()) or ()),
        "instance_policies": tuple(kwargs.pop("instance_policies", ()) or ()),
    }
    if not any(values.values()):
        return None
    from condor_annex.providers.aws.annexes.options import AwsOptions

    return AwsOptions(**values)
