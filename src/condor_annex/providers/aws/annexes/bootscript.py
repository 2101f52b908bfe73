"""The worker boot script (templates/worker-boot.sh) with one annex's values filled in.

The script is a file in the package, not a string in code, so it can be read, linted
and run by itself in tests. Only the `{{...}}` values of its header change per annex;
each is shell-quoted, so no annex or bucket name can inject a command. Its metadata
block is the seed's own (templates/imds-block.sh, put in at "@IMDS_BLOCK@").
"""

from __future__ import annotations

import re
import shlex
from importlib import resources

from condor_annex.providers.aws.reaper import annex_prefix
from condor_annex.seed import with_imds_block

SCRIPT_NAME = "worker-boot.sh"
# EC2 refuses user data over 16 KB (before base64).
USER_DATA_LIMIT = 16 * 1024
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def script_text() -> str:
    template = resources.files("condor_annex.providers.aws") / "templates" / SCRIPT_NAME
    return with_imds_block(template.read_text())


def boot_script(annex: str, bucket: str, region: str, tcp_forwarding_host: str = "") -> str:
    """The user data for every worker of `annex`."""
    values = {
        "annex": annex,
        "bucket": bucket,
        "prefix": annex_prefix(annex),
        "region": region,
        "tcp_forwarding_host": tcp_forwarding_host,
    }
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        used.add(match.group(1))
        return shlex.quote(values[match.group(1)])

    text = _PLACEHOLDER.sub(substitute, script_text())
    if used != set(values):
        raise KeyError(f"{SCRIPT_NAME} does not use {sorted(set(values) - used)}")
    if len(text.encode()) > USER_DATA_LIMIT:
        raise ValueError(f"{SCRIPT_NAME} is over EC2's 16 KB user data limit")
    return text
