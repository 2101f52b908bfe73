"""No image configured: the region's current Amazon Linux 2023, with HTCondor installed at
boot.

AWS publishes the current Amazon Linux 2023 image of every region as public SSM
parameters, one per architecture; each instance type's architecture comes from
DescribeInstanceTypes. Workers on such an image install HTCondor at boot with the same
install script an image build runs (the boot script fetches it from the annex's bundle),
which adds minutes to every worker's start: baking an image once avoids that, and
`annex image build --role worker` records its image as the region's default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.errors import UsageError

PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
ARCHITECTURES = ("x86_64", "arm64")  # the ones AWS publishes Amazon Linux 2023 for


@dataclass(frozen=True)
class StockImages:
    by_type: dict[str, str]  # instance type -> image id

    def note(self, region: str) -> str:
        images = ", ".join(sorted(set(self.by_type.values())))
        return (
            f"Note: no worker image is configured for {region}, so workers use Amazon Linux "
            f"2023 ({images}) and install HTCondor at boot, which adds several minutes to "
            "each worker's start. Bake an image once with `annex image build --role worker "
            f"--base-image {min(self.by_type.values())} --region {region}`; it becomes the "
            "region's default (ANNEX_DEFAULT_ODI_IMAGE_ID)."
        )


def architectures(ec2: Any, instance_types: list[str]) -> dict[str, str]:
    """Each instance type's architecture (x86_64 or arm64), or a one-line error."""
    found: dict[str, str] = {}
    try:
        for start in range(0, len(instance_types), 100):
            reply = ec2.describe_instance_types(InstanceTypes=instance_types[start : start + 100])
            for item in reply["InstanceTypes"]:
                supported = item.get("ProcessorInfo", {}).get("SupportedArchitectures", [])
                arch = next((a for a in ARCHITECTURES if a in supported), None)
                if arch is None:
                    raise UsageError(
                        f"instance type {item['InstanceType']} is {', '.join(supported)}; "
                        "with no image given, it must be x86_64 or arm64"
                    )
                found[item["InstanceType"]] = arch
    except ClientError as err:
        if "InvalidInstanceType" not in err.response.get("Error", {}).get("Code", ""):
            raise
    missing = [t for t in instance_types if t not in found]
    if missing:
        raise UsageError(f"instance type {missing[0]} does not exist in this region")
    return found


def stock_images(ec2: Any, ssm: Any, instance_types: list[str]) -> StockImages:
    """The region's Amazon Linux 2023 image for each instance type's architecture."""
    arches = architectures(ec2, instance_types)
    images: dict[str, str] = {}
    for arch in sorted(set(arches.values())):
        name = PARAMETER.format(arch=arch)
        try:
            images[arch] = ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            raise UsageError(
                f"no image given, and AWS's Amazon Linux 2023 parameter {name} cannot be "
                f"read ({code}); give an image with --image"
            ) from None
    return StockImages({t: images[arch] for t, arch in arches.items()})
