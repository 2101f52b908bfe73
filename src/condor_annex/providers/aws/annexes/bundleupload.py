"""The annex's worker pieces in the configuration bucket, under its prefix
`annexes/<pool id>/<name>/` (reaper.annex_prefix).

Three objects, all a worker needs and the same for every worker of the annex:
`worker.config` (the shared worker config, rendered for the cloud), `lease.config` (the
one line a renewal rewrites) and `token` (the annex's pool token: a secret, so it goes
straight from the bundle into the object body and is never logged or echoed).

The instance id is unknown until boot, so the config carries INSTANCE_ID_PLACEHOLDER and
the boot script substitutes the id from the metadata service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from condor_annex.providers.aws.images.imagescript import COMMON, ROLE_SCRIPTS, script_text
from condor_annex.workerconfig import WorkerBundle, lease_config, worker_config

WORKER_CONFIG = "worker.config"
LEASE_CONFIG = "lease.config"
TOKEN = "token"  # noqa: S105 - the object's name, not a secret
INSTANCE_ID_PLACEHOLDER = "@ANNEX_INSTANCE_ID@"
# Where the install scripts go for workers that install HTCondor at boot.
INSTALL_FOLDER = "install/"
# Where the worker keeps its HTCondor state on the instance (the boot script reads the
# LOCAL_DIR line back from the config, so this is the only place it is chosen).
WORKER_LOCAL_DIR = Path("/var/lib/condor-annex/worker")
# Workers have no inbound ports (the security group has no ingress): the collector
# brokers connections to them (CCB), so the schedd reaches them outbound-only.
# Job owners have no accounts on an image, and a uid taken from the submit side could be
# the image's own admin user: jobs run as `nobody` instead (the metadata service is
# blocked for every user but root and condor, so also for them).
CLOUD_NETWORK = "CCB_ADDRESS = $(COLLECTOR_HOST)\nSTARTER_ALLOW_RUNAS_OWNER = False"
# The master evaluates its lease expression at each update; this bounds how late after
# lease end a worker notices by itself (the reaper's one-minute run is the backstop).
UPDATE_INTERVAL = 30


def object_key(prefix: str, piece: str) -> str:
    return f"{prefix}{piece}"


def cloud_worker_config(bundle: WorkerBundle) -> str:
    return worker_config(
        bundle,
        instance_id=INSTANCE_ID_PLACEHOLDER,
        local_dir=WORKER_LOCAL_DIR,
        network=CLOUD_NETWORK,
        update_interval=UPDATE_INTERVAL,
        family_session=True,  # one worker per instance
    )


def put_piece(s3: Any, bucket: str, key: str, body: str | bytes) -> None:
    """One object of an annex's bundle (encrypted at rest, as every piece is)."""
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body.encode() if isinstance(body, str) else body,
        ContentType="text/plain",
        ServerSideEncryption="AES256",
    )


def upload_lease(s3: Any, bucket: str, prefix: str, bundle: WorkerBundle) -> None:
    """The pieces a renewal changes: a fresh token and the new lease end."""
    put_piece(s3, bucket, object_key(prefix, TOKEN), bundle.token)
    put_piece(s3, bucket, object_key(prefix, LEASE_CONFIG), lease_config(bundle.lease_end))


def upload_bundle(s3: Any, bucket: str, prefix: str, bundle: WorkerBundle) -> list[str]:
    """Every piece; returns the keys (never the contents) for reports."""
    put_piece(s3, bucket, object_key(prefix, WORKER_CONFIG), cloud_worker_config(bundle))
    upload_lease(s3, bucket, prefix, bundle)
    return [object_key(prefix, p) for p in (WORKER_CONFIG, LEASE_CONFIG, TOKEN)]


def upload_install_scripts(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The worker install script and its shared part, for workers on an image without
    HTCondor (the boot script runs them before anything else); returns the keys."""
    keys = []
    for name in (COMMON, ROLE_SCRIPTS["worker"]):
        keys.append(object_key(prefix, f"{INSTALL_FOLDER}{name}"))
        put_piece(s3, bucket, keys[-1], script_text(name))
    return keys
