"""A boto3 session from the standard AWS configuration, or from the classic key files.

boto3's own chain (AWS_PROFILE, AWS_* variables, config files, instance role) and its
endpoint overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) apply unchanged, so
pointing the tool at moto or a private endpoint needs no code. The classic
ANNEX_DEFAULT_ACCESS_KEY_FILE / ANNEX_DEFAULT_SECRET_KEY_FILE (or explicit paths) still
work, and a key file others can read is refused. Keys never reach an error or a log.

Two classic choices are explicit here: per-service endpoint overrides (the classic
-aws-ec2-url and friends: each client of that service gets that endpoint_url), and
credentials from the instance's role alone (`-setup FROM INSTANCE`: boto3's own instance
metadata provider, with nothing else of the chain, so a stray key in the environment can
never be used instead).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.credentials import CredentialResolver
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
NO_INSTANCE_ROLE = (
    "no instance role credentials: this is not an EC2 instance with a role, or its "
    "metadata service cannot be reached; give key files instead of FROM INSTANCE"
)
# The services whose endpoints the classic command line could point elsewhere.
ENDPOINT_SERVICES = ("ec2", "events", "lambda", "s3")
LOOPBACK_HOSTS = ("localhost",)


class EndpointSession(boto3.Session):
    """A boto3 session whose clients of some services use another endpoint."""

    def __init__(self, *args: Any, endpoints: Mapping[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.endpoints = dict(endpoints or {})

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if service_name in self.endpoints and not kwargs.get("endpoint_url"):
            kwargs["endpoint_url"] = self.endpoints[service_name]
        return super().client(service_name, *args, **kwargs)


def _loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, what: str) -> str:
    """An endpoint URL: https, or plain http only to this machine (a local test endpoint)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host or parts.query or parts.fragment:
        raise UsageError(
            f"{what} {url!r} is not an endpoint URL like https://ec2.REGION.amazonaws.com"
        )
    if parts.scheme == "http" and not _loopback(host):
        raise UsageError(f"{what} {url!r} must use https (plain http only to this machine)")
    return url.strip()


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


def _instance_role_only() -> botocore.session.Session:
    """A botocore session whose only credential source is the instance's role (boto3's
    own metadata provider, with the IMDS settings of the environment and config)."""
    core = botocore.session.Session()
    chain = core.get_component("credential_provider")
    core.register_component(
        "credential_provider", CredentialResolver([chain.get_provider("iam-role")])
    )
    return core


def aws_session(
    region: str | None = None,
    access_key_file: Path | None = None,
    secret_key_file: Path | None = None,
    *,
    endpoints: Mapping[str, str] | None = None,
    from_instance: bool = False,
) -> boto3.Session:
    """A session with a valid region and credentials, or a one-line UsageError.

    `endpoints` maps services (ec2, events, lambda, s3) to endpoint URLs; `from_instance`
    takes credentials from the instance's role only.
    """
    for service, url in (endpoints or {}).items():
        if service not in ENDPOINT_SERVICES:
            raise UsageError(f"no endpoint override for {service!r}; only {ENDPOINT_SERVICES}")
        check_endpoint(url, f"the {service} endpoint")
    try:
        configured = boto3.Session().region_name
        chosen = resolve_region(region, configured)
        files = None if from_instance else _key_files(access_key_file, secret_key_file)
        if from_instance and (access_key_file or secret_key_file):
            raise UsageError("give key files or FROM INSTANCE, not both")
        if from_instance:
            session = EndpointSession(
                botocore_session=_instance_role_only(), region_name=chosen, endpoints=endpoints
            )
        elif files:
            session = EndpointSession(
                aws_access_key_id=_read_key(files[0], "access key file"),
                aws_secret_access_key=_read_key(files[1], "secret key file"),
                region_name=chosen,
                endpoints=endpoints,
            )
        else:
            session = EndpointSession(region_name=chosen, endpoints=endpoints)
        if session.get_credentials() is None:
            raise UsageError(NO_INSTANCE_ROLE if from_instance else NO_CREDENTIALS)
    except BotoCoreError as err:  # e.g. AWS_PROFILE names a profile that does not exist
        raise UsageError(f"AWS configuration problem: {err}; fix it or set AWS_PROFILE") from None
    return session
