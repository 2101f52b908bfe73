"""Credentials and region: the standard chain, the classic key files, one-line errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import htcondor2
import pytest

from condor_annex.errors import UsageError
from condor_annex.providers.aws.session import aws_session

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def condor_param() -> Iterator[dict[str, str]]:
    """HTCondor params set through `_set_param` in one test are removed afterwards."""
    changed: dict[str, str] = {}
    yield changed
    for name in changed:
        htcondor2.param.pop(name, None)


def _set_param(params: dict[str, str], name: str, value: str) -> None:
    params[name] = value
    htcondor2.param[name] = value


def _key(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text + "\n")
    os.chmod(path, mode)
    return path


def test_standard_chain_and_endpoint_reach_moto() -> None:
    session = aws_session("us-east-1")
    assert session.region_name == "us-east-1"
    assert session.client("sts").get_caller_identity()["Account"] == "123456789012"


def test_region_defaults_to_boto3_then_condor(
    monkeypatch: pytest.MonkeyPatch, condor_param: dict[str, str]
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert aws_session().region_name == "eu-west-1"  # HTCondor's built-in default yields
    _set_param(condor_param, "ANNEX_DEFAULT_AWS_REGION", "ap-southeast-2")
    assert aws_session().region_name == "ap-southeast-2"
    assert aws_session("us-west-2").region_name == "us-west-2"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    htcondor2.param.pop("ANNEX_DEFAULT_AWS_REGION")
    assert aws_session().region_name == "us-east-1"


@pytest.mark.parametrize("region", ["us-east-9", "mars-north-1", "US-EAST-1", " "])
def test_bad_region_is_a_one_line_usage_error(region: str) -> None:
    with pytest.raises(UsageError) as err:
        aws_session(region)
    assert "not an AWS region" in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(UsageError) as err:
        aws_session("us-east-1")
    assert str(err.value).startswith("no AWS credentials found; set AWS_PROFILE")
    assert "\n" not in str(err.value)


def test_unknown_profile_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(UsageError, match="no-such-profile"):
        aws_session("us-east-1")


def test_key_files_are_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    access = _key(tmp_path / "access", "AKIAEXAMPLEKEYFILE01")
    secret = _key(tmp_path / "secret", SECRET)
    session = aws_session("us-east-1", access, secret)
    creds = session.get_credentials()
    assert creds.access_key == "AKIAEXAMPLEKEYFILE01"
    assert session.client("sts").get_caller_identity()["Account"]


def test_key_files_from_condor_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, condor_param: dict[str, str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    access = _key(tmp_path / "access", "AKIAEXAMPLEKEYPARAM1")
    secret = _key(tmp_path / "secret", SECRET, mode=0o644)
    _set_param(condor_param, "ANNEX_DEFAULT_ACCESS_KEY_FILE", str(access))
    _set_param(condor_param, "ANNEX_DEFAULT_SECRET_KEY_FILE", str(secret))
    with pytest.raises(UsageError) as err:
        aws_session("us-east-1")
    assert "readable by others; run: chmod 600" in str(err.value)
    assert SECRET not in str(err.value)
    os.chmod(secret, 0o600)
    assert aws_session("us-east-1").get_credentials().access_key == "AKIAEXAMPLEKEYPARAM1"


def test_world_readable_key_file_is_refused(tmp_path: Path) -> None:
    access = _key(tmp_path / "access", "AKIAEXAMPLEKEYFILE01", mode=0o644)
    secret = _key(tmp_path / "secret", SECRET)
    with pytest.raises(UsageError, match="readable by others"):
        aws_session("us-east-1", access, secret)


def test_half_a_key_pair_and_bad_key_files(tmp_path: Path) -> None:
    secret = _key(tmp_path / "secret", SECRET)
    with pytest.raises(UsageError, match="give both"):
        aws_session("us-east-1", None, secret)
    with pytest.raises(UsageError, match="does not exist"):
        aws_session("us-east-1", tmp_path / "nope", secret)
    two_words = _key(tmp_path / "access", "AKIA EXAMPLE")
    with pytest.raises(UsageError) as err:
        aws_session("us-east-1", two_words, secret)
    assert "one line" in str(err.value)
    assert "AKIA" not in str(err.value)
