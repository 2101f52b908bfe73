"""The user's own user data next to the boot script (multi-part MIME, gzip) and the
-config-dir bundle: what is built, what cloud-init will see, and what is refused."""

from __future__ import annotations

import email
import gzip
import os
from pathlib import Path

import pytest

from condor_annex.errors import UsageError
from condor_annex.providers.aws.annexes.bootscript import USER_DATA_LIMIT, boot_script
from condor_annex.providers.aws.annexes.configdir import read_config_dir
from condor_annex.providers.aws.annexes.userdata import (
    BOOT_PART_NAME,
    UserPart,
    read_user_data,
    unpack,
    user_parts,
    worker_user_data,
)

from .annexkeys import POOL, prefix  # noqa: F401

SCRIPT = boot_script("ud", prefix("ud"), "bucket", "us-east-1")


def parts_of(user_data: bytes) -> list[tuple[str, str, str]]:
    """(content type, file name, text) of each part, as cloud-init unpacks them."""
    message = email.message_from_string(unpack(user_data))
    assert message.is_multipart()
    return [
        (p.get_content_type(), p.get_filename(), p.get_payload(decode=True).decode())
        for p in message.walk()
        if not p.is_multipart()
    ]


def test_without_user_data_it_is_the_boot_script_compressed() -> None:
    data = worker_user_data(SCRIPT)
    assert data[:2] == b"\x1f\x8b" and len(data) < USER_DATA_LIMIT
    assert gzip.decompress(data).decode() == SCRIPT


def test_user_data_runs_alongside_after_the_boot_script() -> None:
    shell = "#!/bin/sh\necho hello > /tmp/hello\n"
    config = "#cloud-config\npackages: [htop]\n"
    data = worker_user_data(
        SCRIPT, user_parts(shell.encode(), "x") + user_parts(config.encode(), "y")
    )
    parts = parts_of(data)
    assert parts[0] == ("text/x-shellscript", BOOT_PART_NAME, SCRIPT)
    assert parts[1] == ("text/x-shellscript", "50-user-data-1", shell)
    assert parts[2] == ("text/cloud-config", "50-user-data-2", config)
    # cloud-init runs scripts in file name order: ours sorts first.
    assert sorted(name for _, name, _ in parts)[0] == BOOT_PART_NAME


def test_a_mime_message_of_the_user_is_carried_part_by_part(tmp_path: Path) -> None:
    mime = (
        'Content-Type: multipart/mixed; boundary="XYZ"\nMIME-Version: 1.0\n\n'
        '--XYZ\nContent-Type: text/cloud-config; charset="us-ascii"\n\n'
        "#cloud-config\nruncmd: [ls]\n"
        '--XYZ\nContent-Type: text/x-shellscript; charset="us-ascii"\n\n#!/bin/bash\ntrue\n'
        "--XYZ--\n"
    )
    path = tmp_path / "user-data.mime"
    path.write_text(mime)
    parts = read_user_data(path, "-aws-user-data-file")
    assert [p.content_type for p in parts] == ["text/cloud-config", "text/x-shellscript"]
    assert [t for t, _, _ in parts_of(worker_user_data(SCRIPT, parts))] == [
        "text/x-shellscript",
        "text/cloud-config",
        "text/x-shellscript",
    ]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"echo no shebang\n", "is not user data cloud-init runs"),
        (b"", "is empty"),
        (gzip.compress(b"#!/bin/sh\n", mtime=0), "is gzip-compressed"),  # same id in every worker
        (b"\xff\xfe#!/bin/sh", "is not UTF-8 text"),
    ],
)
def test_bad_user_data_is_one_line(data: bytes, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        user_parts(data, "-aws-user-data")


def test_over_the_limit_is_one_line_even_compressed() -> None:
    noise = os.urandom(12 * 1024).hex()  # random: gzip cannot shrink it
    with pytest.raises(UsageError) as caught:
        worker_user_data(SCRIPT, (UserPart("text/x-shellscript", f"#!/bin/sh\n# {noise}\n"),))
    assert "over EC2's limit of 16384" in str(caught.value)


def test_unreadable_user_data_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot be read"):
        read_user_data(tmp_path / "nope", "-aws-user-data-file")


# -- -config-dir ---------------------------------------------------------------------------
def test_config_dir_files_in_name_order(tmp_path: Path) -> None:
    directory = tmp_path / "config.d"
    directory.mkdir()
    (directory / "50-mine.config").write_text("MY_KNOB = 1\n")
    (directory / "10_first").write_bytes(b"START = True\n")
    files = read_config_dir(directory, "-config-dir")
    assert [(f.name, f.data) for f in files] == [
        ("10_first", b"START = True\n"),
        ("50-mine.config", b"MY_KNOB = 1\n"),
    ]
    assert "START" not in repr(files)  # contents stay out of logs


def test_config_dir_refuses_what_is_not_a_plain_file(tmp_path: Path) -> None:
    cases = []
    link = tmp_path / "link"
    link.mkdir()
    (link / "target").write_text("x")
    (link / "evil").symlink_to(link / "target")
    cases.append((link, "is a link"))
    sub = tmp_path / "sub"
    (sub / "nested").mkdir(parents=True)
    cases.append((sub, "is not a regular file"))
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / ".profile").write_text("x")
    cases.append((hidden, "file name '.profile' is not allowed"))
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "a b").write_text("x")
    cases.append((odd, "file name 'a b' is not allowed"))
    empty = tmp_path / "empty"
    empty.mkdir()
    cases.append((empty, "holds no files"))
    big = tmp_path / "big"
    big.mkdir()
    (big / "huge").write_bytes(b"x" * (1024 * 1024 + 1))
    cases.append((big, "is too big"))
    cases.append((tmp_path / "missing", "cannot be read"))
    cases.append((big / "huge", "is not a directory"))
    for directory, needle in cases:
        with pytest.raises(UsageError) as caught:
            read_config_dir(directory, "-config-dir")
        assert needle in str(caught.value), (directory, caught.value)
        assert str(caught.value).startswith("-config-dir")
