"""A worker image, once built, becomes its region's default worker image.

`annex image build --role worker` records it as the region-prefixed
ANNEX_DEFAULT_ODI_IMAGE_ID in the user's HTCondor config file, the way setup records its
values, so the next annex in that region (`condor_annex -count 10 ...`, `annex create`)
boots it without an image flag. `--no-default` leaves the file alone.
"""

from __future__ import annotations

from pathlib import Path

from condor_annex.providers.aws.account.condorconfig import (
    default_user_config,
    write_region_settings,
)

NAME = "ANNEX_DEFAULT_ODI_IMAGE_ID"


def record_default_image(region: str, image_id: str, config_file: Path | None = None) -> Path:
    """Write the region's default worker image; returns the file written."""
    path = config_file or default_user_config()
    header = f"# condor-annex worker image for {region}"
    write_region_settings(path, region, {NAME: image_id}, header=header)
    return path
