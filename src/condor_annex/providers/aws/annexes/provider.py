"""AwsProvider: an annex's workers as EC2 instances (on-demand or spot), found by tag.

The lease lives in instance tags, so the account's reaper (one function, every minute)
ends expired annexes with no per-annex rule; workers also end their own lease. Creating
an annex of any size takes a constant number of API calls: a few IAM calls for the
annex's role, three S3 puts, and ONE RunInstances (on-demand) or ONE CreateFleet of type
instant (spot). Launch requests carry a ClientToken derived from the request, so a
retried call never launches twice.

The user may add to a launch, never take away: a key pair, security groups next to the
setup's, user data run after the boot script (userdata.py), configuration files for the
workers (configdir.py), and a classic spot fleet config's types, weights and prices
(spotfleetconfig.py). With no image given, workers use the region's Amazon Linux 2023
and install HTCondor at boot (stockimage.py).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from condor_annex.errors import AnnexError, UsageError
from condor_annex.interfaces import Observation, Seen, Timing
from condor_annex.lifecycle import GoneReason
from condor_annex.model import AnnexRecord, AnnexRequest
from condor_annex.providers.aws.account.setuprecord import SetupRecord
from condor_annex.providers.aws.annexes import instances as ec2x
from condor_annex.providers.aws.annexes.bootscript import boot_script
from condor_annex.providers.aws.annexes.bundleupload import (
    upload_bundle,
    upload_install_scripts,
    upload_lease,
)
from condor_annex.providers.aws.annexes.configdir import ConfigFile, upload_config_files
from condor_annex.providers.aws.annexes.launchchecks import check_key_pair, check_network
from condor_annex.providers.aws.annexes.prices import (
    CostEstimate,
    InstanceUsage,
    estimated_cost,
    price_table,
)
from condor_annex.providers.aws.annexes.spotfleetconfig import SpotFleetPlan, spot_options
from condor_annex.providers.aws.annexes.stockimage import StockImages, stock_images
from condor_annex.providers.aws.annexes.userdata import UserPart, worker_user_data
from condor_annex.providers.aws.annexes.workeridentity import (
    AnnexIdentity,
    WorkerPolicies,
    check_policy,
    delete_annex_identity,
    ensure_annex_identity,
)
from condor_annex.providers.aws.awserrors import aws_errors
from condor_annex.providers.aws.reaper import (
    DELETE_FLEETS_BATCH,
    TAG_LEASE_END,
    annex_prefix,
    delete_prefix,
)
from condor_annex.workerconfig import WorkerBundle

# The reaper runs every minute and ends instances at lease end; allow one period.
LEASE_GRACE_SECONDS = 60.0
# A new instance profile takes seconds to become usable by EC2; retry launches this
# long (total about a minute), then give up with the error.
IAM_RETRY_DELAYS = (2.0, 4.0, 8.0, 15.0, 15.0, 15.0)
# Right after a launch DescribeInstances may not list an instance yet (eventual
# consistency); only one unseen for longer is taken as gone.
UNSEEN_GRACE_SECONDS = 120.0
METADATA_OPTIONS = {
    "HttpTokens": "required",  # IMDSv2 only
    "HttpEndpoint": "enabled",
    "HttpPutResponseHopLimit": 1,  # containers on the worker cannot reach it
    "HttpProtocolIpv6": "disabled",  # only the IPv4 endpoint, which the boot script blocks too
    "InstanceMetadataTags": "enabled",
}


def _iam_not_ready(message: str) -> bool:
    """EC2's way of saying a just-made instance profile has not propagated yet."""
    text = message.lower()
    return "iaminstanceprofile" in text or "instance profile" in text


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    """User tags must also be valid instance metadata tags (the launch template exposes
    tags there), or every launch fails; say so before anything is made."""
    for key in tags:
        if not key or "/" in key or " " in key or key in {".", "..", "_index"}:
            raise UsageError(f"tag key {key!r} cannot be used: no '/', no spaces, not empty")
        if key.startswith("condor-annex:") or key.lower().startswith("aws:"):
            raise UsageError(f"tag key {key!r} is reserved; pick another")
    return dict(tags)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} hours"


TIMING = Timing(
    lease_grace_seconds=LEASE_GRACE_SECONDS,
    # A worker not in the pool when `off` starts is ended through the API at once.
    join_wait_seconds=0.0,
    # Each look is a paged DescribeInstances of the whole annex: not more than this often.
    poll_seconds=5.0,
    unseen_grace_seconds=UNSEEN_GRACE_SECONDS,
)


class AwsProvider:
    name = "aws"
    same_host = False
    timing = TIMING

    def __init__(
        self,
        session: Any,
        setup_record: SetupRecord,
        instance_type: str,
        image_id: str,
        spot: bool = False,
        instance_types: Sequence[str] | None = None,
        tags: dict[str, str] | None = None,
        *,
        pool: str,
        instance_policies: Sequence[str] = (),
        key_name: str = "",
        security_groups: Sequence[str] = (),
        user_data: Sequence[UserPart] = (),
        config_files: Sequence[ConfigFile] = (),
        fleet: SpotFleetPlan | None = None,
        tcp_forwarding_host: str = "",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        iam_retry_delays: Sequence[float] = IAM_RETRY_DELAYS,
    ) -> None:
        """No network here: clients are made on first use. `pool` is the pool's id: the
        annex is this pool's annex of its name (tags, objects and role carry both)."""
        self.session = session
        self.pool = pool
        self.setup = setup_record
        self.region: str = setup_record.region
        self.location = self.region
        self.instance_type = instance_type
        self.image_id = image_id
        self.spot = spot
        self.instance_types = list(instance_types or [instance_type])
        self.tags = _check_tags(tags or {})
        self.instance_policies = tuple(instance_policies)
        self.key_name = key_name
        self.security_groups = tuple(
            g for g in security_groups if g != setup_record.security_group_id
        )
        self.user_data = tuple(user_data)
        self.config_files = tuple(config_files)
        self.fleet = fleet
        # The region's Amazon Linux 2023 per instance type, when no image was given.
        self.stock: StockImages | None = None
        self.tcp_forwarding_host = tcp_forwarding_host
        self.sleep = sleep
        self.clock = clock
        self.iam_retry_delays = tuple(iam_retry_delays)
        # What the last query saw, per annex (instance types and launch times, for cost).
        self.seen: dict[str, list[ec2x.Instance]] = {}
        # Failures of best-effort clean-up steps, for the caller to report.
        self.warnings: list[str] = []
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region)
        return self._clients[service]

    # -- creating --------------------------------------------------------------------------
    def describe(self, request: AnnexRequest) -> str:
        """The classic question, plus where and the most it can cost at list prices."""
        prices = price_table().prices
        if self.fleet is not None:
            kinds = ", ".join(
                f"{t} (weight {self.fleet.weight_of(t):g})" for t in self.instance_types
            )
            what = f"{request.count} spot slots ({kinds})"
            # Per slot: an instance of weight w gives w slots.
            worst = max(prices.get(t, 0.0) / self.fleet.weight_of(t) for t in self.instance_types)
        elif self.spot:
            what = f"{request.count} spot instances ({', '.join(self.instance_types)})"
            worst = max(prices.get(t, 0.0) for t in self.instance_types)
        else:
            what = f"{request.count} {self.instance_type} on-demand instances"
            worst = prices.get(self.instance_type, 0.0)
        text = (
            f"Will request {what} in {self.region} for {_hours(request.lease_seconds)}. "
            f"Each instance will terminate after being idle for {_hours(request.idle_seconds)}."
        )
        if worst:
            bound = worst * request.count * request.lease_seconds / 3600
            text += f" At most about ${bound:.2f} at on-demand list prices."
        notes = [f"Note: spot fleet config: {n}." for n in (self.fleet.notes if self.fleet else ())]
        if self.stock is not None:
            notes.append(self.stock.note(self.region))
        return "\n".join([text, *notes])

    def _types_without_image(self) -> list[str]:
        """The instance types that take the annex's image (a fleet config may name its own)."""
        if self.fleet is not None:
            return list(
                dict.fromkeys(o.instance_type for o in self.fleet.overrides if not o.image_id)
            )
        return list(self.instance_types) if self.spot else [self.instance_type]

    def image_for(self, instance_type: str) -> str:
        if self.image_id:
            return self.image_id
        if self.stock is None or instance_type not in self.stock.by_type:
            raise UsageError("no image given; use --image AMI or ANNEX_DEFAULT_ODI_IMAGE_ID")
        return self.stock.by_type[instance_type]

    @aws_errors
    def prepare(self, request: AnnexRequest) -> None:
        if request.count < 1:
            raise UsageError(f"count {request.count} is below 1")
        ec2 = self.client("ec2")
        # The cloud is the truth, not this home's records: another home of the same pool
        # (or a lost record) may have an annex of this name running.
        running = ec2x.describe_annex(ec2, self.pool, request.name, live_only=True)
        if running:
            raise UsageError(
                f"annex {request.name!r} of pool {self.pool} already has {len(running)} live "
                f"instance(s) in {self.region}; end it (`annex off {request.name}`) or pick "
                "another name"
            )
        needed = self._types_without_image()
        images = set(self.fleet.image_ids if self.fleet else ())
        if self.image_id or not needed:
            images.add(self.image_id)
        else:
            self.stock = stock_images(ec2, self.client("ssm"), needed)
            images |= set(self.stock.by_type.values())
        for image in sorted(i for i in images if i):
            ec2x.check_image(ec2, image)
        if self.key_name:
            check_key_pair(ec2, self.key_name)
        subnets = self.fleet.subnet_ids if self.fleet else []
        check_network(ec2, self.setup.security_group_id, self.security_groups, subnets)
        for arn in self.instance_policies:
            check_policy(self.client("iam"), arn)

    @aws_errors
    def run_instances(
        self, annex: AnnexRecord, bundle: WorkerBundle, count: int
    ) -> list[Observation]:
        if count < 1:
            raise UsageError(f"count {count} is below 1")
        for instance_type in self._types_without_image():
            self.image_for(instance_type)  # prepare found every image, or this says so
        try:
            launched = self._launch(annex, bundle, count)
        except BaseException:
            # Nothing may be left behind: instances a timed-out call may still have
            # launched, the fleet, the objects and the role all go (best effort).
            self._undo_launch(annex)
            raise
        now = self.clock()
        return [
            Observation(instance_id, Seen.STARTED, address=address, started_at=now)
            for instance_id, address in launched
        ]

    def _launch(
        self, annex: AnnexRecord, bundle: WorkerBundle, count: int
    ) -> list[tuple[str, str]]:
        identity, user_data, tags = self.launch_inputs(annex, bundle)
        if self.spot:
            return self._launch_fleet(annex, identity, user_data, tags, count)
        return self._launch_on_demand(annex, identity, user_data, tags, count)

    def launch_inputs(
        self, annex: AnnexRecord, bundle: WorkerBundle
    ) -> tuple[AnnexIdentity, bytes, list[dict]]:
        """What every launch of the annex needs, made ready: its role, its objects, the
        user data (boot script and the user's parts) and its tags. Plain and elastic
        launches (fleet.py) both start from here."""
        identity = ensure_annex_identity(
            self.client("iam"),
            self.region,
            self.pool,
            annex.name,
            WorkerPolicies(self.setup.worker_policy_arn, self.setup.worker_boundary_arn),
            self.instance_policies,
        )
        s3 = self.client("s3")
        prefix = annex_prefix(self.pool, annex.name)
        upload_bundle(s3, self.setup.bucket, prefix, bundle)
        if self.config_files:
            upload_config_files(s3, self.setup.bucket, prefix, self.config_files)
        if self.stock is not None:
            upload_install_scripts(s3, self.setup.bucket, prefix)
        script = boot_script(
            annex.name,
            prefix,
            self.setup.bucket,
            self.region,
            self.tcp_forwarding_host,
            install_htcondor=self.stock is not None,
            extra_config=bool(self.config_files),
        )
        user_data = worker_user_data(script, self.user_data)
        tags = ec2x.annex_tags(self.pool, annex.name, annex.lease_end, bundle.collector, self.tags)
        return identity, user_data, tags

    def _undo_launch(self, annex: AnnexRecord) -> None:
        """Best effort, and never in the way of the error that made it necessary."""
        try:
            self.terminate_instances(annex)
        except Exception as err:
            self.warnings.append(f"clean-up after the failed launch was incomplete: {err}")

    def _retrying(self, launch: Callable[[int], list[tuple[str, str]] | None]) -> Any:
        """Call launch(attempt) until it launches, backing off while IAM propagates.

        `launch` raises ClientError or returns None for "profile not ready yet".
        """
        delays = [*self.iam_retry_delays, None]
        for attempt, delay in enumerate(delays):
            try:
                result = launch(attempt)
            except ClientError as err:
                if delay is None or not _iam_not_ready(str(err)):
                    raise
                result = None
            if result is not None:
                return result
            if delay is None:
                raise AnnexError("EC2 did not accept the annex's instance profile in time")
            self.sleep(delay)
        raise AssertionError("unreachable")

    def _launch_on_demand(
        self,
        annex: AnnexRecord,
        identity: AnnexIdentity,
        user_data: bytes,
        tags: list[dict],
        count: int,
    ) -> list[tuple[str, str]]:
        token = ec2x.client_token(annex.name, annex.created_at, count, "run-instances")
        params: dict[str, Any] = {
            "ImageId": self.image_for(self.instance_type),
            "InstanceType": self.instance_type,
            "MinCount": count,
            "MaxCount": count,
            "LaunchTemplate": {
                "LaunchTemplateId": self.setup.launch_template_id,
                "Version": "$Default",
            },
            # Also in the launch template; repeated so no template edit can undo them.
            "MetadataOptions": METADATA_OPTIONS,
            "InstanceInitiatedShutdownBehavior": "terminate",
            "IamInstanceProfile": {"Arn": identity.profile_arn},
            "UserData": user_data,
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": tags},
                {"ResourceType": "volume", "Tags": tags},
            ],
            # The same on every attempt: EC2 returns the first launch instead of a second.
            "ClientToken": token,
            **self._access(),
        }

        def launch(_attempt: int) -> list[tuple[str, str]]:
            reply = self.client("ec2").run_instances(**params)
            return [
                (i["InstanceId"], i.get("PrivateIpAddress", "") or "") for i in reply["Instances"]
            ]

        result: list[tuple[str, str]] = self._retrying(launch)
        return result

    def _access(self) -> dict[str, Any]:
        """The key pair and extra security groups, as launch parameters (the groups with
        the setup's own first: given at all, they replace the template's)."""
        access: dict[str, Any] = {}
        if self.key_name:
            access["KeyName"] = self.key_name
        if self.security_groups:
            access["SecurityGroupIds"] = [self.setup.security_group_id, *self.security_groups]
        return access

    def _fleet_overrides(self) -> list[dict[str, Any]]:
        if self.fleet is not None:
            return [
                o.request(o.image_id or self.image_for(o.instance_type))
                for o in self.fleet.overrides
            ]
        return [{"InstanceType": t, "ImageId": self.image_for(t)} for t in self.instance_types]

    def _launch_fleet(
        self,
        annex: AnnexRecord,
        identity: AnnexIdentity,
        user_data: bytes,
        tags: list[dict],
        count: int,
    ) -> list[tuple[str, str]]:
        """One instant CreateFleet over all instance types, capacity-optimized (or as a
        spot fleet config says).

        A fleet cannot take user data or a profile directly, so they go into a new
        version of the setup's launch template (based on its default, so IMDSv2, the
        security group and terminate-on-shutdown carry over); the default stays as it is.
        """
        ec2 = self.client("ec2")
        version = ec2.create_launch_template_version(
            LaunchTemplateId=self.setup.launch_template_id,
            SourceVersion="$Default",
            VersionDescription=f"condor-annex annex {annex.name}"[:255],
            ClientToken=ec2x.client_token(annex.name, annex.created_at, count, "lt-version"),
            LaunchTemplateData={
                **(self.fleet.template_data if self.fleet else {}),
                **self._access(),
                "ImageId": self._fleet_overrides()[0]["ImageId"],
                "IamInstanceProfile": {"Arn": identity.profile_arn},
                "UserData": base64.b64encode(user_data).decode(),
                "MetadataOptions": METADATA_OPTIONS,
                "TagSpecifications": [
                    {"ResourceType": "instance", "Tags": tags},
                    {"ResourceType": "volume", "Tags": tags},
                    {"ResourceType": "spot-instances-request", "Tags": tags},
                ],
            },
        )["LaunchTemplateVersion"]["VersionNumber"]
        base_token = ec2x.client_token(annex.name, annex.created_at, count, "create-fleet")

        def launch(attempt: int) -> list[tuple[str, str]] | None:
            # An instant fleet's token returns its first answer forever, so a retry after
            # a definite failure (nothing launched) needs a new one; retries of the same
            # attempt (botocore's own, after a timeout) keep it.
            token = base_token if attempt == 0 else f"{base_token[:60]}-r{attempt:02d}"
            reply = ec2.create_fleet(
                Type="instant",
                ClientToken=token,
                TargetCapacitySpecification={
                    "TotalTargetCapacity": count,
                    "DefaultTargetCapacityType": "spot",
                },
                SpotOptions=spot_options(self.fleet),
                LaunchTemplateConfigs=[
                    {
                        "LaunchTemplateSpecification": {
                            "LaunchTemplateId": self.setup.launch_template_id,
                            "Version": str(version),
                        },
                        "Overrides": self._fleet_overrides(),
                    }
                ],
                TagSpecifications=[
                    {"ResourceType": "fleet", "Tags": tags},
                    {"ResourceType": "instance", "Tags": tags},
                ],
            )
            ids = [i for group in reply.get("Instances", []) for i in group["InstanceIds"]]
            if ids:
                return [(i, "") for i in ids]
            errors = reply.get("Errors", [])
            messages = "; ".join(
                f"{e.get('ErrorCode', '')}: {e.get('ErrorMessage', '')}" for e in errors
            )
            if errors and all(_iam_not_ready(e.get("ErrorMessage", "")) for e in errors):
                return None
            raise AnnexError(f"the spot fleet launched nothing ({messages or 'no reason given'})")

        try:
            result: list[tuple[str, str]] = self._retrying(launch)
        finally:
            self._drop_version(version)
        return result

    def _drop_version(self, version: int) -> None:
        """An instant fleet reads its template once, at launch; the version can go then."""
        try:
            self.client("ec2").delete_launch_template_versions(
                LaunchTemplateId=self.setup.launch_template_id, Versions=[str(version)]
            )
        except (ClientError, BotoCoreError, ResponseParserError) as err:
            # ResponseParserError: moto does not implement this call (HTTP 500).
            self.warnings.append(
                f"launch template version {version} was left in place (harmless): {err}"[:300]
            )

    # -- looking -----------------------------------------------------------------------------
    @aws_errors
    def query_instances(self, annex: AnnexRecord) -> list[Observation]:
        found = ec2x.describe_annex(self.client("ec2"), self.pool, annex.name)
        self.seen[annex.name] = found
        return [
            Observation(
                inst.id,
                Seen.STARTED if inst.live else Seen.ENDED,
                address=inst.address,
                started_at=inst.launched,
                ended_by=GoneReason.LEASE if inst.ended_by == "lease" else None,
            )
            for inst in found
        ]

    def cost(self, annex: AnnexRecord, now: float | None = None) -> CostEstimate:
        """Estimated dollars so far, from the last query_instances of this annex."""
        ended = {w.id: w.ended_at for w in annex.workers}
        usage = [
            InstanceUsage(i.instance_type, i.launched, ended.get(i.id))
            for i in self.seen.get(annex.name, [])
        ]
        return estimated_cost(usage, self.clock() if now is None else now)

    # -- ending ------------------------------------------------------------------------------
    @aws_errors
    def terminate_instances(self, annex: AnnexRecord, ids: Sequence[str] | None = None) -> None:
        ec2 = self.client("ec2")
        wanted = None if ids is None else set(ids)
        if wanted is None:
            fleets = ec2x.annex_fleets(ec2, self.pool, annex.name)
            for batch in ec2x.batches(fleets, DELETE_FLEETS_BATCH):
                ec2.delete_fleets(FleetIds=batch, TerminateInstances=True)
        live = ec2x.describe_annex(ec2, self.pool, annex.name, live_only=True)
        targets = [i.id for i in live if wanted is None or i.id in wanted]
        for batch in ec2x.batches(targets):
            ec2.terminate_instances(InstanceIds=batch)
        if wanted is None:
            self._clean_up(annex.name)

    def _clean_up(self, name: str) -> None:
        """Once the whole annex is ended: its token and config, its role. Best effort: the
        reaper deletes the objects after the lease, and teardown finds leftover roles."""
        prefix = annex_prefix(self.pool, name)
        try:
            delete_prefix(self.client("s3"), self.setup.bucket, prefix)
        except (ClientError, BotoCoreError) as err:
            self.warnings.append(f"could not delete {prefix}: {err}")
        try:
            delete_annex_identity(self.client("iam"), self.region, self.pool, name)
        except (ClientError, BotoCoreError) as err:
            self.warnings.append(f"could not delete the role of annex {name}: {err}")

    # -- renewing ----------------------------------------------------------------------------
    @aws_errors
    def set_lease(self, annex: AnnexRecord, bundle: WorkerBundle) -> None:
        """New token and lease.config first (workers poll them), then the lease tags the
        reaper reads, on every live instance and fleet of the annex, in batches."""
        prefix = annex_prefix(self.pool, annex.name)
        upload_lease(self.client("s3"), self.setup.bucket, prefix, bundle)
        ec2 = self.client("ec2")
        ids = [i.id for i in ec2x.describe_annex(ec2, self.pool, annex.name, live_only=True)]
        ids += ec2x.annex_fleets(ec2, self.pool, annex.name)
        tag = [{"Key": TAG_LEASE_END, "Value": ec2x.lease_tag(annex.lease_end)}]
        for batch in ec2x.batches(ids):
            ec2.create_tags(Resources=batch, Tags=tag)
