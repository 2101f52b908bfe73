"""Machine images (AMIs) and their snapshots: checking a base image, making an image from
a builder, waiting for it, and discarding a half-made one.

Images are made with NoReboot: a reboot would run cloud-init again on the scrubbed
builder (its state is gone, so it would take the reboot for a first boot and rebuild).
The builder has synced its disks and gone idle before it reports, so its root file
system is consistent when the snapshot is taken.

Snapshots are tagged as soon as the image lists them (CreateImage tags only the image
here: moto cannot tag snapshots at CreateImage, and a tag added by CreateTags works the
same everywhere). Until then a half-made image's snapshots are still found by the
description EC2 gives them, "Created by CreateImage(<instance>) for <image>".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.durations import format_duration
from condor_annex.errors import AnnexError, UsageError

Say = Callable[[str], None]
# EC2's rule for image names: 3 to 128 of these characters.
IMAGE_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./'@_-]{3,128}$")
# A snapshot still held by a just-deregistered image, or still being made.
SNAPSHOT_BUSY = {"InvalidSnapshot.InUse", "IncorrectState"}


def check_image_name(name: str) -> str:
    if not IMAGE_NAME.match(name):
        raise UsageError(
            f"image name {name!r} is not allowed: 3 to 128 letters, digits, spaces "
            "and ( ) [ ] . / - ' @ _"
        )
    return name


def describe_base_image(ec2: Any, image_id: str) -> dict[str, Any]:
    """The base image as EC2 describes it, or a UsageError saying it is not there."""
    if not re.match(r"^ami-[0-9a-f]{8,17}$", image_id):
        raise UsageError(f"{image_id!r} is not an image id (ami-...); check --base-image")
    try:
        images = ec2.describe_images(ImageIds=[image_id])["Images"]
    except ClientError as err:
        if "InvalidAMIID" not in err.response.get("Error", {}).get("Code", ""):
            raise
        images = []
    if not images or images[0].get("State", "available") != "available":
        raise UsageError(f"image {image_id} does not exist in this region; check --base-image")
    image: dict[str, Any] = images[0]
    if image.get("Platform") == "windows":
        raise UsageError(f"image {image_id} is Windows; give a Linux base image")
    return image


def name_taken(ec2: Any, name: str) -> bool:
    images = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])
    return any(image.get("Name") == name for image in images["Images"])


def snapshot_ids(image: dict[str, Any]) -> list[str]:
    return [
        m["Ebs"]["SnapshotId"]
        for m in image.get("BlockDeviceMappings", [])
        if m.get("Ebs", {}).get("SnapshotId")
    ]


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def create_image(ec2: Any, instance_id: str, name: str, tags: dict[str, str]) -> str:
    reply = ec2.create_image(
        InstanceId=instance_id,
        Name=name,
        Description=f"condor-annex {tags.get('condor-annex:image-role', '')} image"[:255],
        NoReboot=True,
        TagSpecifications=[{"ResourceType": "image", "Tags": tag_list(tags)}],
    )
    image_id: str = reply["ImageId"]
    return image_id


def wait_available(
    ec2: Any,
    image_id: str,
    tags: dict[str, str],
    timeout: float,
    poll: float,
    say: Say,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Poll until the image is available; tag its snapshots on the way; their ids."""
    deadline = time.monotonic() + timeout
    tagged: set[str] = set()
    while True:
        images = ec2.describe_images(ImageIds=[image_id])["Images"]
        image = images[0] if images else {}
        state = image.get("State", "missing")
        fresh = [s for s in snapshot_ids(image) if s not in tagged]
        if fresh:
            ec2.create_tags(Resources=fresh, Tags=tag_list(tags))
            tagged.update(fresh)
        if state == "available":
            return snapshot_ids(image)
        if state not in ("pending", "missing"):
            reason = image.get("StateReason", {}).get("Message", "no reason given")
            raise AnnexError(f"image {image_id} is {state}: {reason}")
        if time.monotonic() >= deadline:
            raise AnnexError(
                f"image {image_id} was not available within {format_duration(timeout)}"
            )
        say(f"Waiting for image {image_id} to become available ({state})...")
        sleep(poll)


def images_of_build(ec2: Any, tag: str, build_id: str) -> list[dict[str, Any]]:
    filters = [{"Name": f"tag:{tag}", "Values": [build_id]}]
    return list(ec2.describe_images(Owners=["self"], Filters=filters)["Images"])


def snapshots_of_build(ec2: Any, tag: str, build_id: str, builder_id: str) -> set[str]:
    """Snapshots tagged with the build, or described as made from its builder."""
    found: set[str] = set()
    selectors: list[dict[str, Any]] = [{"Name": f"tag:{tag}", "Values": [build_id]}]
    if builder_id:
        selectors.append(
            {"Name": "description", "Values": [f"Created by CreateImage({builder_id})*"]}
        )
    for selector in selectors:
        pages = ec2.get_paginator("describe_snapshots").paginate(
            OwnerIds=["self"], Filters=[selector]
        )
        for page in pages:
            found.update(s["SnapshotId"] for s in page.get("Snapshots", []))
    return found


def delete_snapshots(
    delete: Callable[[str], None],
    ids: Iterable[str],
    timeout: float,
    poll: float,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Delete each snapshot; one still held by a just-deregistered image is retried."""
    deadline = time.monotonic() + timeout
    for snapshot in sorted(ids):
        while True:
            try:
                delete(snapshot)
                break
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code")
                if code not in SNAPSHOT_BUSY or time.monotonic() >= deadline:
                    raise
            sleep(poll)
