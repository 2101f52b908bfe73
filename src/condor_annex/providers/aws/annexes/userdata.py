"""A worker's EC2 user data: the annex's boot script, plus the user's own, run alongside.

Without user data of the user's, it is the boot script itself. With it (the classic
-aws-user-data flags, `annex create --user-data-file`), it is one multi-part MIME
message, the way cloud-init takes several parts: the boot script first (its file name
sorts first, and cloud-init runs scripts in name order), then the user's parts. Either
is gzip-compressed, as an image builder's is (cloud-init unpacks it): the boot script
alone is near EC2's 16 KB limit uncompressed. Compressed past the limit is a one-line
error.

The user's data must be something cloud-init runs: a script (#!), #cloud-config,
#include, #cloud-boothook, a part handler, a jinja template, or a MIME message of such
parts (each is carried over). Anything else cloud-init would quietly ignore, so it is
refused rather than lost.
"""

from __future__ import annotations

import email
import email.policy
import gzip
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.providers.aws.annexes.bootscript import USER_DATA_LIMIT

BOOT_PART_NAME = "00-condor-annex-boot.sh"
# cloud-init's own start-of-data markers and the MIME types it files them under; the
# longer ones first, so "#cloud-config-archive" is not taken for "#cloud-config".
KINDS = (
    ("#cloud-config-archive", "text/cloud-config-archive"),
    ("#cloud-config", "text/cloud-config"),
    ("#cloud-boothook", "text/cloud-boothook"),
    ("#include-once", "text/x-include-once-url"),
    ("#include", "text/x-include-url"),
    ("#part-handler", "text/part-handler"),
    ("## template: jinja", "text/jinja2"),
    ("#!", "text/x-shellscript"),
)
MIME_START = ("content-type:", "mime-version:")


@dataclass(frozen=True)
class UserPart:
    content_type: str  # "text/x-shellscript", ...
    text: str


def _kind(text: str, source: str) -> str:
    for marker, content_type in KINDS:
        if text.startswith(marker):
            return content_type
    raise UsageError(
        f"{source} is not user data cloud-init runs; start it with #!, #cloud-config, "
        "#include, #cloud-boothook or a MIME header"
    )


def user_parts(data: bytes, source: str) -> tuple[UserPart, ...]:
    """The user's data as the parts it holds, or a one-line error naming `source`."""
    if data[:2] == b"\x1f\x8b":
        raise UsageError(f"{source} is gzip-compressed; give it uncompressed")
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise UsageError(f"{source} is not UTF-8 text") from None
    if not text.strip():
        raise UsageError(f"{source} is empty")
    if not text.lower().startswith(MIME_START):
        return (UserPart(_kind(text, source), text),)
    message = email.message_from_string(text, policy=email.policy.compat32)
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        body = payload.decode(part.get_content_charset() or "utf-8", "replace") if payload else ""
        parts.append(UserPart(part.get_content_type(), body))
    if not parts:
        raise UsageError(f"{source} is a MIME message with no parts")
    return tuple(parts)


def read_user_data(path: Path, source: str) -> tuple[UserPart, ...]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"{source} {path} cannot be read: {err.strerror}") from None
    return user_parts(data, f"{source} {path}")


def _multipart(boot_script: str, parts: tuple[UserPart, ...]) -> bytes:
    message = MIMEMultipart()
    ours = MIMEText(boot_script, "x-shellscript", "utf-8")
    ours.add_header("Content-Disposition", "attachment", filename=BOOT_PART_NAME)
    message.attach(ours)
    for number, part in enumerate(parts, start=1):
        maintype, _, subtype = part.content_type.partition("/")
        item = MIMEText(part.text, subtype or "plain", "utf-8")
        if maintype != "text":
            item.replace_header("Content-Type", f'{part.content_type}; charset="utf-8"')
        item.add_header("Content-Disposition", "attachment", filename=f"50-user-data-{number}")
        message.attach(item)
    return message.as_bytes()


def worker_user_data(boot_script: str, parts: tuple[UserPart, ...] = ()) -> bytes:
    """What EC2 is given, gzip-compressed: the boot script alone, or it and the user's
    parts as multi-part MIME (the boot script first)."""
    plain = _multipart(boot_script, parts) if parts else boot_script.encode()
    data = gzip.compress(plain, compresslevel=9, mtime=0)
    if len(data) > USER_DATA_LIMIT:
        raise UsageError(
            f"the user data and the worker's boot script are {len(data)} bytes compressed, "
            f"over EC2's limit of {USER_DATA_LIMIT}; make the user data smaller "
            "(or have it fetch the rest)"
        )
    return data


def unpack(user_data: bytes) -> str:
    """The text of user data as cloud-init sees it (gzip undone), for tests and reports."""
    return gzip.decompress(user_data).decode()
