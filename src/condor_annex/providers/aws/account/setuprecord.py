"""What setup made in one region, read back from the stack's outputs.

The stack is the record: later commands (create, status, reap, check-setup) call
`find_setup`, so nothing local can go stale. The region-prefixed ANNEX_DEFAULT_* lines
setup also writes are for people and the classic tool's habits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.errors import UsageError
from condor_annex.providers.aws import naming


@dataclass(frozen=True)
class SetupRecord:
    region: str
    stack_name: str
    bucket: str
    worker_policy_arn: str
    worker_boundary_arn: str
    reaper_role_name: str
    reaper_function_name: str
    reaper_function_arn: str
    schedule_rule_name: str
    security_group_id: str
    launch_template_id: str
    log_group_name: str
    # Image builders' own outbound-only group; "" for a setup made before it existed.
    builder_security_group_id: str = ""

    @classmethod
    def from_outputs(cls, region: str, outputs: dict[str, str]) -> SetupRecord:
        return cls(
            region=region,
            stack_name=naming.stack_name(region),
            bucket=outputs["BucketName"],
            worker_policy_arn=outputs["WorkerPolicyArn"],
            worker_boundary_arn=outputs["WorkerBoundaryArn"],
            reaper_role_name=outputs["ReaperRoleName"],
            reaper_function_name=outputs["ReaperFunctionName"],
            reaper_function_arn=outputs["ReaperFunctionArn"],
            schedule_rule_name=outputs["ScheduleRuleName"],
            security_group_id=outputs["SecurityGroupId"],
            launch_template_id=outputs["LaunchTemplateId"],
            log_group_name=outputs["LogGroupName"],
            builder_security_group_id=outputs.get("BuilderSecurityGroupId", ""),
        )

    def config_values(self) -> dict[str, str]:
        """The classic ANNEX_DEFAULT_* names (and two new ones) for the user's config."""
        return {
            "ANNEX_DEFAULT_S3_BUCKET": self.bucket,
            "ANNEX_DEFAULT_ODI_SECURITY_GROUP_IDS": self.security_group_id,
            "ANNEX_DEFAULT_ODI_LEASE_FUNCTION_ARN": self.reaper_function_arn,
            "ANNEX_DEFAULT_SFR_LEASE_FUNCTION_ARN": self.reaper_function_arn,
            "ANNEX_DEFAULT_ODI_LAUNCH_TEMPLATE_ID": self.launch_template_id,
            "ANNEX_DEFAULT_WORKER_POLICY_ARN": self.worker_policy_arn,
        }


def setup_fix(region: str) -> str:
    return f"run `annex setup --provider aws --region {region}`"


def rebuild_fix(region: str) -> str:
    """For changes setup cannot undo in place (an edited policy of the stack's own)."""
    return (
        f"run `annex teardown --provider aws --region {region}`, "
        f"then `annex setup --provider aws --region {region}`"
    )


def find_setup(session: Any) -> SetupRecord:
    """The region's setup, or a UsageError telling the user to run setup first."""
    from condor_annex.providers.aws.account.stacks import STABLE_OK

    region = session.region_name
    cf = session.client("cloudformation")
    try:
        stack = cf.describe_stacks(StackName=naming.stack_name(region))["Stacks"][0]
    except ClientError as err:
        if "does not exist" in str(err):
            raise UsageError(
                f"condor-annex is not set up in {region}; {setup_fix(region)}"
            ) from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if stack["StackStatus"] not in STABLE_OK or "BucketName" not in outputs:
        raise UsageError(
            f"condor-annex setup in {region} is {stack['StackStatus']}; {setup_fix(region)}"
        )
    if "WorkerBoundaryArn" not in outputs:
        raise UsageError(
            f"condor-annex setup in {region} predates per-pool annexes; {setup_fix(region)}"
        )
    return SetupRecord.from_outputs(region, outputs)
