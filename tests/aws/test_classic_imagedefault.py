"""`annex image build --role worker` records its image as the region's default worker
image (the region-prefixed ANNEX_DEFAULT_ODI_IMAGE_ID, as setup records its values), and
the next annex there uses it with no image flag; `--no-default` records nothing. The
builder is played by test_image_build.py's FakeBuilder against moto (the CLI waits its
usual 10 s between looks, so each build here takes about that long)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from condor_annex.cli.main import cli
from condor_annex.cli.runner import run
from condor_annex.providers.aws import SetupRecord
from condor_annex.providers.aws.account.condorconfig import read_region_settings
from condor_annex.providers.aws.annexes.options import AwsOptions

from .conftest import REGION
from .test_image_build import SUCCESS, base_image, builder_reports  # noqa: F401 - fixture


def build(session: Any, *extra: str) -> int:
    return run(
        cli,
        "annex",
        [
            "image",
            "build",
            "--role",
            "worker",
            "--base-image",
            base_image(session),
            "--yes",
            *extra,
        ],
    )


def test_a_worker_image_becomes_the_regions_default(
    session: Any,
    objects_allowed: SetupRecord,
    builder_reports: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = tmp_path / ".condor" / "user_config"
    config.parent.mkdir()
    config.write_text("# mine\nus_east_1.ANNEX_DEFAULT_S3_BUCKET = kept\n")

    builder_reports(SUCCESS)
    assert build(session) == 0
    image = capsys.readouterr().out.strip().splitlines()[-1]
    assert image.startswith("ami-")
    settings = read_region_settings(config, REGION)
    assert settings["ANNEX_DEFAULT_ODI_IMAGE_ID"] == image
    assert settings["ANNEX_DEFAULT_S3_BUCKET"] == "kept"  # the rest of the file stays
    assert config.read_text().startswith("# mine\n")
    assert AwsOptions().chosen_image(REGION) == image  # what the next annex boots
    assert AwsOptions().chosen_image("eu-west-1") == ""  # another region: none recorded

    builder_reports(SUCCESS)
    assert build(session, "--no-default") == 0
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert second != image
    assert read_region_settings(config, REGION)["ANNEX_DEFAULT_ODI_IMAGE_ID"] == image

    elsewhere = tmp_path / "elsewhere"
    builder_reports(SUCCESS)
    assert build(session, "--config-file", str(elsewhere)) == 0
    third = capsys.readouterr().out.strip().splitlines()[-1]
    assert read_region_settings(elsewhere, REGION)["ANNEX_DEFAULT_ODI_IMAGE_ID"] == third
