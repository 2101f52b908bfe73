"""`annex image build`: bake a worker or seed image (AMI), and leave nothing else behind.

One on-demand builder instance boots the base image with the setup's launch template
(IMDSv2 only, terminate on shutdown, the outbound-only security group) and no instance
role. Its user data (imagescript.py) installs HTCondor and the role, scrubs the builder,
scans it for secrets, and reports through one presigned object in the configuration
bucket (imagesignal.py explains why that and not a role). Then, only if the build
succeeded and the scan found nothing, the builder is imaged (amis.py), the image and its
snapshots are tagged, and the builder is terminated.

Whatever goes wrong (a failure report, the timeout, a secret found, CreateImage failing,
Ctrl-C) the builder is terminated, any image of the build is deregistered and its
snapshots deleted, and the result object is deleted: everything made is found again by
the build's tag (`condor-annex:image-build`), not only by the ids this process saw, so a
lost reply leaves nothing either. Should `annex` itself die, the builder powers itself
off (and so terminates) at a deadline, and teardown removes the tool's images.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from condor_annex import __version__
from condor_annex.api import Cancelled
from condor_annex.durations import format_duration
from condor_annex.errors import AnnexError
from condor_annex.providers.aws.account.inventory import Finder, Resource
from condor_annex.providers.aws.account.teardown import Sweeper
from condor_annex.providers.aws.annexes.instances import LIVE_STATES
from condor_annex.providers.aws.annexes.provider import METADATA_OPTIONS
from condor_annex.providers.aws.images import amis
from condor_annex.providers.aws.images.imageplan import BuildPlan, ImageRequest, plan_build
from condor_annex.providers.aws.images.imagescript import builder_script, builder_user_data
from condor_annex.providers.aws.images.imagesignal import (
    BuildResult,
    delete_result,
    presigned_put_url,
    read_result,
    result_key,
)
from condor_annex.providers.aws.reaper import TAG_MANAGED

Say = Callable[[str], None]
Confirm = Callable[[str], bool]

TAG_IMAGE_BUILD = "condor-annex:image-build"
TAG_IMAGE_ROLE = "condor-annex:image-role"
TAG_TOOL_VERSION = "condor-annex:tool-version"
TAG_HTCONDOR_VERSION = "condor-annex:htcondor-version"
TAG_BUILT = "condor-annex:built"

HTCONDOR_SERIES = "24.0"  # the official repository's long-term-support series
IMAGE_TIMEOUT = 3600.0  # for CreateImage to finish (snapshots of the root volume)
TERMINATE_TIMEOUT = 600.0
URL_MARGIN = 600.0  # the result URL outlives the build's timeout by this much
PROGRESS_EVERY = 60.0


@dataclass(frozen=True)
class BuiltImage:
    image_id: str
    name: str
    role: str
    snapshot_ids: tuple[str, ...]
    htcondor_version: str
    build_id: str


class SecretsFound(AnnexError):
    """The builder's secret scan found something: nothing was imaged."""


def build_image(
    session: Any,
    request: ImageRequest,
    say: Say,
    confirm: Confirm | None = None,
    *,
    poll: float = 10.0,
    image_timeout: float = IMAGE_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> BuiltImage:
    """Plan, ask, build; returns the image, or raises with nothing left behind."""
    plan = plan_build(session, request)
    summary = plan.describe()
    say(summary)
    if confirm is not None and not confirm(summary):
        raise Cancelled("nothing was started")
    return ImageBuild(session, plan, say, poll, image_timeout, sleep).run()


def new_build_id(role: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    return f"{role}-{stamp}-{secrets.token_hex(3)}"


class ImageBuild:
    """One build, from launching the builder to the image; `run` cleans up on any failure."""

    def __init__(
        self,
        session: Any,
        plan: BuildPlan,
        say: Say,
        poll: float,
        image_timeout: float,
        sleep: Callable[[float], None],
    ) -> None:
        self.session = session
        self.plan = plan
        self.req = plan.request
        self.say = say
        self.poll = poll
        self.image_timeout = image_timeout
        self.sleep = sleep
        self.build_id = new_build_id(self.req.role)
        self.key = result_key(self.build_id)
        self.bucket = plan.setup.bucket
        self.ec2 = session.client("ec2")
        self.s3 = session.client("s3")
        self.builder_id = ""
        self.image_ids: list[str] = []

    # -- the steps -------------------------------------------------------------------------
    def run(self) -> BuiltImage:
        try:
            self._launch()
            result = self._await_result()
            self._check(result)
            image = self._bake(result)
        except BaseException:  # Ctrl-C too: a builder must never be left running
            self._clean_up()
            raise
        self._finish()
        self.say(f"Built {self.req.role} image {image.image_id} ({image.name}).")
        return image

    def _launch(self) -> None:
        url = presigned_put_url(self.session, self.bucket, self.key, self.req.timeout + URL_MARGIN)
        deadline = int((self.req.timeout + self.image_timeout + URL_MARGIN) // 60) + 1
        script = builder_script(
            self.build_id, self.req.role, self.req.extras, url, HTCONDOR_SERIES, deadline
        )
        tags = amis.tag_list(
            {
                "Name": f"condor-annex-image-builder-{self.build_id}",
                TAG_MANAGED: "true",
                TAG_IMAGE_BUILD: self.build_id,
                TAG_IMAGE_ROLE: self.req.role,
            }
        )
        reply = self.ec2.run_instances(
            ImageId=self.req.base_image,
            InstanceType=self.plan.instance_type,
            MinCount=1,
            MaxCount=1,
            LaunchTemplate={
                "LaunchTemplateId": self.plan.setup.launch_template_id,
                "Version": "$Default",
            },
            # Also in the launch template; repeated so no template edit can undo them.
            MetadataOptions=METADATA_OPTIONS,
            # Not the workers' group, which pools let reach their collectors.
            SecurityGroupIds=[self.plan.setup.builder_security_group_id],
            InstanceInitiatedShutdownBehavior="terminate",
            UserData=builder_user_data(script),
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": tags},
                {"ResourceType": "volume", "Tags": tags},
            ],
            ClientToken=self.build_id,
        )
        self.builder_id = reply["Instances"][0]["InstanceId"]
        self.say(
            f"Launched builder {self.builder_id} (build {self.build_id}); installing "
            "usually takes 5 to 15 minutes."
        )

    def _builder_state(self) -> str:
        reservations = self.ec2.describe_instances(InstanceIds=[self.builder_id])["Reservations"]
        found = [i for r in reservations for i in r["Instances"]]
        return found[0]["State"]["Name"] if found else "missing"

    def _await_result(self) -> BuildResult:
        start = time.monotonic()
        deadline = start + self.req.timeout
        next_progress = start + PROGRESS_EVERY
        while True:
            raw = read_result(self.s3, self.bucket, self.key)
            if raw is not None:
                return BuildResult.parse(raw, self.build_id)
            state = self._builder_state()
            if state not in ("pending", "running"):
                raise AnnexError(
                    f"the builder {self.builder_id} ended ({state}) before it reported; "
                    f"`aws ec2 get-console-output --instance-id {self.builder_id}` may say why"
                )
            now = time.monotonic()
            if now >= deadline:
                raise AnnexError(
                    f"the builder {self.builder_id} did not report within "
                    f"{format_duration(self.req.timeout)} (--timeout)"
                )
            if now >= next_progress:
                self.say(
                    f"Still building: {format_duration(now - start)} of at most "
                    f"{format_duration(self.req.timeout)} (builder {self.builder_id}, {state})."
                )
                next_progress += PROGRESS_EVERY
            self.sleep(max(0.0, min(self.poll, deadline - now)))

    def _check(self, result: BuildResult) -> None:
        if result.findings:
            shown = "; ".join(result.findings[:3])
            more = f" and {len(result.findings) - 3} more" if len(result.findings) > 3 else ""
            raise SecretsFound(
                f"refusing to make an image: the builder's secret scan found "
                f"{len(result.findings)} item(s): {shown}{more}"
            )
        if not result.succeeded:
            for line in result.log_tail:
                self.say(f"  builder: {line}")
            raise AnnexError(f"the builder failed: {result.reason or 'no reason given'}")
        source = f", {result.htcondor_source} packages" if result.htcondor_source else ""
        self.say(f"The builder is done: HTCondor {result.htcondor_version or '?'}{source}.")

    def _bake(self, result: BuildResult) -> BuiltImage:
        tags = {
            "Name": self.req.name,
            TAG_MANAGED: "true",
            TAG_IMAGE_BUILD: self.build_id,
            TAG_IMAGE_ROLE: self.req.role,
            TAG_TOOL_VERSION: __version__,
            TAG_HTCONDOR_VERSION: result.htcondor_version or "unknown",
            TAG_BUILT: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.say(f"Creating image {self.req.name!r} from the builder...")
        image_id = amis.create_image(self.ec2, self.builder_id, self.req.name, tags)
        self.image_ids.append(image_id)
        snapshots = amis.wait_available(
            self.ec2, image_id, tags, self.image_timeout, self.poll, self.say, self.sleep
        )
        return BuiltImage(
            image_id=image_id,
            name=self.req.name,
            role=self.req.role,
            snapshot_ids=tuple(snapshots),
            htcondor_version=result.htcondor_version,
            build_id=self.build_id,
        )

    # -- ending --------------------------------------------------------------------------
    def _builders(self) -> set[str]:
        """The build's live instances: the one launched, and any a lost reply hid."""
        filters = [
            {"Name": f"tag:{TAG_IMAGE_BUILD}", "Values": [self.build_id]},
            {"Name": "instance-state-name", "Values": LIVE_STATES},
        ]
        reservations = self.ec2.describe_instances(Filters=filters)["Reservations"]
        return {i["InstanceId"] for r in reservations for i in r["Instances"]}

    def _terminate_builders(self) -> None:
        ids = self._builders() | ({self.builder_id} if self.builder_id else set())
        if not ids:
            return
        self.ec2.terminate_instances(InstanceIds=sorted(ids))
        deadline = time.monotonic() + TERMINATE_TIMEOUT
        while left := self._builders():
            if time.monotonic() >= deadline:
                raise AnnexError(f"builder(s) {', '.join(sorted(left))} did not terminate")
            self.sleep(self.poll)
        self.say(f"Builder {', '.join(sorted(ids))} terminated.")

    def _finish(self) -> None:
        """After success: the builder and the result object go."""
        try:
            self._terminate_builders()
            delete_result(self.s3, self.bucket, self.key)
        except (ClientError, BotoCoreError, AnnexError) as err:
            raise AnnexError(
                f"the image is ready, but cleaning up after the build failed ({err}); "
                f"terminate instances tagged {TAG_IMAGE_BUILD}={self.build_id} by hand"
            ) from None

    def _discard_images(self) -> None:
        images = amis.images_of_build(self.ec2, TAG_IMAGE_BUILD, self.build_id)
        ids = set(self.image_ids) | {i["ImageId"] for i in images}
        snapshots = {s for i in images for s in amis.snapshot_ids(i)}
        sweeper = Sweeper(Finder(self.session), self.say, self.image_timeout, self.poll)
        for image_id in sorted(ids):
            sweeper.delete(Resource("image", image_id))
            self.say(f"Image {image_id} deregistered.")
        snapshots |= amis.snapshots_of_build(
            self.ec2, TAG_IMAGE_BUILD, self.build_id, self.builder_id
        )
        for snapshot in sorted(snapshots):
            sweeper.delete(Resource("snapshot", snapshot))
            self.say(f"Snapshot {snapshot} deleted.")

    def _clean_up(self) -> None:
        """After any failure: every step is tried; what could not be done is said."""
        steps: list[tuple[str, Callable[[], None]]] = [
            ("terminating the builder", self._terminate_builders),
            ("discarding the image", self._discard_images),
            ("deleting the result object", lambda: delete_result(self.s3, self.bucket, self.key)),
        ]
        for what, step in steps:
            try:
                step()
            except (ClientError, BotoCoreError, AnnexError) as err:
                self.say(
                    f"Clean-up: {what} failed ({err}); find what is left with "
                    f"`annex teardown` or the tag {TAG_IMAGE_BUILD}={self.build_id}"
                )
