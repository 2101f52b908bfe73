"""How an image builder tells `annex` it is done: one small JSON object in the bucket.

`annex` presigns a PUT of `images/<build id>/result` in the region's configuration
bucket and puts the URL in the builder's user data; the builder PUTs its result there
and `annex` polls for it. So the builder needs no instance role and holds no AWS
credentials (nothing for the image to keep), and the one thing it can do is write that
object until the URL expires. The URL carries the access key id (and, with temporary
credentials, the session token) of whoever runs `annex`, never the secret key; it is
valid for the build's timeout plus a margin, and no longer than the credentials that
signed it (so build with credentials that last as long as the build). The bucket's
TLS-only policy holds: the URL is https.

The result holds status, reason, the HTCondor version and where it came from, the
secret scan's findings (paths and kinds, never content) and the tail of the build log.
It is read with a size bound, checked field by field, and deleted when the build ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from condor_annex.errors import AnnexError

IMAGES_PREFIX = "images/"
MAX_RESULT_BYTES = 64 * 1024
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's limit
MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_FIELD_MAX = 500


def result_key(build_id: str) -> str:
    """One object per build; the trailing name keeps builds apart under images/."""
    return f"{IMAGES_PREFIX}{build_id}/result"


def presigned_put_url(session: Any, bucket: str, key: str, expires_in: float) -> str:
    """A SigV4 URL for one PUT of `key`, on the region's own S3 endpoint.

    SigV4 and the regional endpoint: the default (SigV2, global endpoint) is refused or
    redirected for buckets outside us-east-1, and a redirected PUT fails.
    """
    s3 = session.client(
        "s3",
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
        ),
    )
    seconds = max(60, min(int(expires_in), MAX_PRESIGN_SECONDS))
    url: str = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=seconds
    )
    return url


def _clean(value: Any, limit: int = _FIELD_MAX) -> str:
    """A builder's string made safe to print and to tag: printable, bounded."""
    text = value if isinstance(value, str) else ""
    return "".join(c for c in text if c.isprintable())[:limit]


def _lines(value: Any, limit: int) -> tuple[str, ...]:
    items = value if isinstance(value, list) else []
    return tuple(_clean(item) for item in items[:limit])


@dataclass(frozen=True)
class BuildResult:
    status: str
    reason: str
    htcondor_version: str
    htcondor_source: str
    findings: tuple[str, ...]
    log_tail: tuple[str, ...]

    @property
    def succeeded(self) -> bool:
        return self.status == "success"

    @classmethod
    def parse(cls, raw: bytes, build_id: str) -> BuildResult:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise AnnexError("the builder's result is not JSON") from None
        if not isinstance(data, dict):
            raise AnnexError("the builder's result is not a JSON object")
        if data.get("build_id") != build_id:
            raise AnnexError("the builder's result names another build")
        status = data.get("status")
        if status not in ("success", "failure"):
            raise AnnexError(f"the builder reported an unknown status {_clean(status, 40)!r}")
        return cls(
            status=status,
            reason=_clean(data.get("reason")),
            htcondor_version=_clean(data.get("htcondor_version"), 64),
            htcondor_source=_clean(data.get("htcondor_source"), 64),
            findings=_lines(data.get("secret_scan"), 200),
            log_tail=_lines(data.get("log_tail"), 40),
        )


def read_result(s3: Any, bucket: str, key: str) -> bytes | None:
    """The result object's bytes, or None while there is none."""
    try:
        reply = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in MISSING_CODES:
            return None
        raise
    if reply.get("ContentLength", 0) > MAX_RESULT_BYTES:
        reply["Body"].close()
        raise AnnexError(f"the builder's result is over {MAX_RESULT_BYTES} bytes")
    data: bytes = reply["Body"].read(MAX_RESULT_BYTES + 1)
    if len(data) > MAX_RESULT_BYTES:
        raise AnnexError(f"the builder's result is over {MAX_RESULT_BYTES} bytes")
    return data


def delete_result(s3: Any, bucket: str, key: str) -> None:
    s3.delete_object(Bucket=bucket, Key=key)
