"""Account-side setup for one region: `setup`, `check_setup` and `teardown`.

Setup makes ONE CloudFormation stack per region, `condor-annex-<region>`. One stack,
because the parts only make sense together (the reaper's role names the bucket, the
launch template names the security group) and live and die together, so a single
create/update/delete keeps setup idempotent and teardown simple; the region is in the
name because IAM names are global and the console lists stacks of all regions together.

Workers do not share a role. The stack makes one shared worker policy whose only grant is
s3:GetObject on `annexes/${aws:PrincipalTag/condor-annex:annex}/*`; creating an annex
makes a role tagged `condor-annex:annex=<name>` under the IAM path
`/condor-annex/<region>/` with that policy attached (see workeridentity.py), so a worker
can read its own annex's objects and no other annex's (the old tool let every worker read
every pool password).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.errors import UsageError
from condor_annex.providers.aws import naming
from condor_annex.providers.aws.account.condorconfig import write_region_settings
from condor_annex.providers.aws.account.guardrails import CheckResult, Guardrails
from condor_annex.providers.aws.account.inventory import Inventory
from condor_annex.providers.aws.account.setuprecord import SetupRecord, find_setup, setup_fix
from condor_annex.providers.aws.account.stacks import Stacks, StackSpec
from condor_annex.providers.aws.account.stacktemplate import account_template
from condor_annex.providers.aws.account.teardown import empty_bucket
from condor_annex.providers.aws.account.teardown import teardown as _teardown
from condor_annex.providers.aws.reaper import TAG_MANAGED, ReapReport, reap

Say = Callable[[str], None]


def default_vpc(session: Any) -> str:
    vpcs = session.client("ec2").describe_vpcs(
        Filters=[{"Name": "is-default", "Values": ["true"]}]
    )["Vpcs"]
    if not vpcs:
        raise UsageError(
            f"region {session.region_name} has no default VPC; create one with "
            "`aws ec2 create-default-vpc` and rerun setup"
        )
    return vpcs[0]["VpcId"]


def account_id(session: Any) -> str:
    return session.client("sts").get_caller_identity()["Account"]


def setup(
    session: Any,
    say: Say,
    config_file: Path | None = None,
    poll: float = 5.0,
    timeout: float = 1800,
) -> SetupRecord:
    """Create or bring up to date the region's stack, restore its guardrails, record it."""
    region = session.region_name
    say(f"Setting up condor-annex in {region} (one CloudFormation stack)...")
    spec = StackSpec(
        name=naming.stack_name(region),
        template=account_template(),
        parameters={"VpcId": default_vpc(session)},
        tags={TAG_MANAGED: "true"},
    )
    bucket = naming.bucket_name(account_id(session), region)

    def before_replace() -> None:  # a failed stack may still own a bucket with objects
        empty_bucket(session.client("s3"), bucket)

    stacks = Stacks(session, say, poll=poll, timeout=timeout)
    try:
        outputs = stacks.deploy(spec, before_replace)
    except ClientError as err:
        raise UsageError(
            f"AWS refused the setup stack: {err.response['Error'].get('Message', err)}; "
            "fix the permissions or the named resource and rerun setup"
        ) from None
    record = SetupRecord.from_outputs(region, outputs)
    Guardrails(session, record, say).repair()
    if config_file is not None:
        write_region_settings(config_file, region, record.config_values())
        say(f"Wrote the {region} settings to {config_file}.")
    say("Setup successful.")
    return record


def check_setup(session: Any, say: Say) -> list[CheckResult]:
    """One line per part; a failing part gets a second line that says how to fix it."""
    region = session.region_name
    try:
        record = find_setup(session)
    except UsageError as err:
        result = CheckResult("setup stack", (str(err).split(";")[0],), setup_fix(region))
        for line in result.lines():
            say(line)
        return [result]
    results = [CheckResult("setup stack"), *Guardrails(session, record).check_all()]
    for result in results:
        for line in result.lines():
            say(line)
    if all(r.ok for r in results):
        say("Your setup looks OK.")
    return results


def teardown(session: Any, say: Say, poll: float = 5.0, timeout: float = 900) -> Inventory:
    """Everything made in the region goes; returns the inventory (non-empty: failure)."""
    return _teardown(session, say, timeout=timeout, poll=poll)


def reap_now(session: Any, now: float) -> ReapReport:
    """`annex reap --provider aws [--now EPOCH]`: one reaper run from here."""
    return reap(session, now, bucket=find_setup(session).bucket)
