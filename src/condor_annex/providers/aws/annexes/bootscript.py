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

from condor_annex.seed import with_imds_block

SCRIPT_NAME = "worker-boot.sh"
# EC2 refuses user data over 16 KB (before base64); userdata.py compresses the script.
USER_DATA_LIMIT = 16 * 1024
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def script_text() -> str:
    template = resources.files("condor_annex.providers.aws") / "templates" / SCRIPT_NAME
    return with_imds_block(template.read_text())


def boot_script(
    annex: str,
    prefix: str,
    bucket: str,
    region: str,
    tcp_forwarding_host: str = "",
    *,
    install_htcondor: bool = False,
    extra_config: bool = False,
) -> str:
    """The boot script of every worker of `annex`, whose objects are under `prefix`.
    `install_htcondor`: the image has no HTCondor, install it first; `extra_config`:
    install the annex's -config-dir files."""
    values = {
        "annex": annex,
        "bucket": bucket,
        "prefix": prefix,
        "region": region,
        "tcp_forwarding_host": tcp_forwarding_host,
        "install_htcondor": "1" if install_htcondor else "",
        "extra_config": "1" if extra_config else "",
    }
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        used.add(match.group(1))
        return shlex.quote(values[match.group(1)])

    text = _PLACEHOLDER.sub(substitute, script_text())
    if used != set(values):
        raise KeyError(f"{SCRIPT_NAME} does not use {sorted(set(values) - used)}")
    return text
