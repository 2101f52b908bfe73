"""AWS launch choices: flags win, then ANNEX_DEFAULT_* from HTCondor config, then defaults."""

from __future__ import annotations

from collections.abc import Iterator

import htcondor2
import pytest

from condor_annex.providers.aws.annexes.options import (
    CLASSIC_INSTANCE_TYPE,
    DEFAULT_INSTANCE_TYPE,
    AwsOptions,
)

ARNS = "arn:aws:iam::123456789012:policy/a, arn:aws:iam::123456789012:policy/b"


@pytest.fixture
def condor_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set HTCondor config values the way users' environments can (_CONDOR_NAME)."""
    yield monkeypatch
    monkeypatch.undo()
    htcondor2.reload_config()


def test_defaults_without_config() -> None:
    assert AwsOptions().chosen_instance_type() == DEFAULT_INSTANCE_TYPE
    assert AwsOptions(classic=True).chosen_instance_type() == CLASSIC_INSTANCE_TYPE == "m4.large"
    assert AwsOptions(spot=True, instance_types=("c5.large",)).chosen_instance_type() == "c5.large"
    assert AwsOptions().chosen_instance_policies() == ()


def test_config_defaults_and_flags_winning(condor_config: pytest.MonkeyPatch) -> None:
    condor_config.setenv("_CONDOR_ANNEX_DEFAULT_ODI_INSTANCE_TYPE", "c7i.large")
    condor_config.setenv("_CONDOR_ANNEX_DEFAULT_ODI_IMAGE_ID", "ami-0123456789abcdef0")
    condor_config.setenv("_CONDOR_ANNEX_DEFAULT_INSTANCE_POLICY_ARNS", ARNS)
    htcondor2.reload_config()
    configured = AwsOptions(classic=True)
    assert configured.chosen_instance_type() == "c7i.large"
    assert configured.chosen_image() == "ami-0123456789abcdef0"
    assert configured.chosen_instance_policies() == (
        "arn:aws:iam::123456789012:policy/a",
        "arn:aws:iam::123456789012:policy/b",
    )
    flags = AwsOptions(instance_type="m5.large", image_id="ami-1", instance_policies=("x",))
    assert flags.chosen_instance_type() == "m5.large"
    assert flags.chosen_image() == "ami-1"
    assert flags.chosen_instance_policies() == ("x",)
