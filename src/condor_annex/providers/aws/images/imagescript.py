"""The user data of an image builder: templates/image-build.sh with one build's values,
carrying the shared install part and the role's install script.

The scripts are files in the package, so they can be read, linted and run by themselves
(the Debian 13 bench runs install-worker.sh in a fresh root). The wrapper embeds them
byte for byte as quoted here-documents, and the whole is gzip-compressed: cloud-init
unpacks gzip user data, and compressed the scripts fit EC2's 16 KB limit with room to
spare. Every `{{value}}` is shell-quoted, so no name or URL can inject a command.
"""

from __future__ import annotations

import gzip
import re
import shlex
from importlib import resources

from condor_annex.providers.aws.annexes.bootscript import USER_DATA_LIMIT

WRAPPER = "image-build.sh"
COMMON = "image-common.sh"
ROLE_SCRIPTS = {"worker": "install-worker.sh", "seed": "install-seed.sh"}
EMBED_MARKER = "# @EMBEDDED_FILES@"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_DELIMITER = "CONDOR_ANNEX_EOF"


def script_text(name: str) -> str:
    return (resources.files("condor_annex.providers.aws") / "templates" / name).read_text()


def known_extras() -> tuple[str, ...]:
    """The extras the install scripts know, read from their own KNOWN_EXTRAS line."""
    match = re.search(r'^KNOWN_EXTRAS="([^"]*)"$', script_text(COMMON), re.M)
    if not match:
        raise KeyError(f"{COMMON} has no KNOWN_EXTRAS line")
    return tuple(match.group(1).split())


def _embedded(name: str) -> str:
    """A command that writes the packaged file `name` into $WORK exactly as it is."""
    text = script_text(name)
    if not text.endswith("\n"):
        text += "\n"
    if _DELIMITER in text:
        raise ValueError(f"{name} contains the here-document delimiter {_DELIMITER}")
    return f"cat >\"$WORK/{name}\" <<'{_DELIMITER}'\n{text}{_DELIMITER}\n"


def _fill(template: str, values: dict[str, str]) -> str:
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        used.add(match.group(1))
        return shlex.quote(values[match.group(1)])

    text = _PLACEHOLDER.sub(substitute, template)
    if used != set(values):
        raise KeyError(f"{WRAPPER} does not use {sorted(set(values) - used)}")
    return text


def builder_script(
    build_id: str,
    role: str,
    extras: tuple[str, ...],
    result_url: str,
    htcondor_series: str,
    deadline_minutes: int,
) -> str:
    """The builder's whole script, uncompressed (what cloud-init runs)."""
    values = {
        "build_id": build_id,
        "role": role,
        "extras": ",".join(extras),
        "htcondor_series": htcondor_series,
        "deadline_minutes": str(deadline_minutes),
        "result_url": result_url,
    }
    # Placeholders first: the embedded scripts are data and are not searched for them.
    wrapper = _fill(script_text(WRAPPER), values)
    files = "".join(_embedded(name) for name in (COMMON, ROLE_SCRIPTS[role]))
    if wrapper.count(EMBED_MARKER) != 1:
        raise ValueError(f"{WRAPPER} must hold {EMBED_MARKER} once")
    return wrapper.replace(EMBED_MARKER, files.rstrip("\n"))


def builder_user_data(script: str) -> bytes:
    """The script gzip-compressed (mtime 0: the same script gives the same bytes)."""
    data = gzip.compress(script.encode(), compresslevel=9, mtime=0)
    if len(data) > USER_DATA_LIMIT:
        raise ValueError(f"the builder's user data is {len(data)} bytes, over EC2's 16 KB")
    return data
