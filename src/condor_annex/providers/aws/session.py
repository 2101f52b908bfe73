"""A boto3 session from the standard AWS configuration, or from the classic key files.

boto3's own chain (AWS_PROFILE, AWS_* variables, config files, instance role) and its
endpoint overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) apply unchanged, so
pointing the tool at moto or a private endpoint needs no code. The classic
ANNEX_DEFAULT_ACCESS_KEY_FILE / ANNEX_DEFAULT_SECRET_KEY_FILE (or explicit paths) still
work, and a key file others can read is refused. Keys never reach an error or a log.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError

from condor_annex.errors import UsageError
from condor_annex.secretfiles import check_secret_file
from condor_annex.settings import param, path_param

FALLBACK_REGION = "us-east-1"
# HTCondor's own parameter table defaults ANNEX_DEFAULT_AWS_REGION to this, so a value equal
# to it cannot be told apart from "not set": it yields to a region boto3 is configured with.
HTCONDOR_DEFAULT_REGION = "us-east-1"
NO_CREDENTIALS = (
    "no AWS credentials found; set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
    "or an instance role, or give --access-key-file/--secret-key-file"
)


@cache
def known_regions() -> frozenset[str]:
    """Every region name botocore knows for EC2, in every partition (aws, aws-cn, gov...)."""
    base = boto3.Session()
    regions: set[str] = set()
    for partition in base.get_available_partitions():
        regions.update(base.get_available_regions("ec2", partition_name=partition))
    return frozenset(regions)


def resolve_region(explicit: str | None, configured: str | None) -> str:
    """--region, else ANNEX_DEFAULT_AWS_REGION, else boto3's configured region, else us-east-1."""
    from_condor = param("ANNEX_DEFAULT_AWS_REGION")
    if from_condor == HTCONDOR_DEFAULT_REGION and configured:
        from_condor = None
    region = (explicit or from_condor or configured or FALLBACK_REGION).strip()
    if region not in known_regions():
        raise UsageError(
            f"{region!r} is not an AWS region; give a real one such as us-east-1 "
            "(--region or ANNEX_DEFAULT_AWS_REGION)"
        )
    return region


def _read_key(path: Path, what: str) -> str:
    check_secret_file(path, what)
    try:
        key = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{what} {path} cannot be read: {err}") from None
    if not key or any(c.isspace() for c in key):
        raise UsageError(f"{what} {path} must hold the key alone, on one line")
    return key


def _key_files(
    access_key_file: Path | None, secret_key_file: Path | None
) -> tuple[Path, Path] | None:
    access = access_key_file or path_param("ANNEX_DEFAULT_ACCESS_KEY_FILE")
    secret = secret_key_file or path_param("ANNEX_DEFAULT_SECRET_KEY_FILE")
    if access is None and secret is None:
        return None
    if access is None or secret is None:
        raise UsageError(
            "give both an access key file and a secret key file (--access-key-file and "
            "--secret-key-file, or ANNEX_DEFAULT_ACCESS_KEY_FILE and ANNEX_DEFAULT_SECRET_KEY_FILE)"
        )
    return access, secret


def aws_session(
    region: str | None = None,
    access_key_file: Path | None = None,
    secret_key_file: Path | None = None,
) -> boto3.Session:
    """A session with a valid region and credentials, or a one-line UsageError."""
    try:
        configured = boto3.Session().region_name
        chosen = resolve_region(region, configured)
        files = _key_files(access_key_file, secret_key_file)
        if files:
            session = boto3.Session(
                aws_access_key_id=_read_key(files[0], "access key file"),
                aws_secret_access_key=_read_key(files[1], "secret key file"),
                region_name=chosen,
            )
        else:
            session = boto3.Session(region_name=chosen)
        if session.get_credentials() is None:
            raise UsageError(NO_CREDENTIALS)
    except BotoCoreError as err:  # e.g. AWS_PROFILE names a profile that does not exist
        raise UsageError(f"AWS configuration problem: {err}; fix it or set AWS_PROFILE") from None
    return session
