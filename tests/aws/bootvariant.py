"""The tests' copy of the worker boot script: the rendered user data with lines of its
settings block replaced (the script reads no environment variable or file that could
redirect it on a real instance, so this is the tests' only way in). Also stand-ins for
the firewall tools, for tests that run the script outside a network namespace of their
own (tests/aws/netns.py runs the real ones).
"""

from __future__ import annotations

import shlex
from pathlib import Path

SETTINGS_END = "# -- end of settings"


def boot_variant(script: str, **settings: str) -> str:
    """`script` with `NAME=value` set for each setting (each must be in the block)."""
    head, sep, tail = script.partition(SETTINGS_END)
    assert sep, "the boot script has no settings block"
    lines = head.splitlines()
    for name, value in settings.items():
        found = [i for i, line in enumerate(lines) if line.startswith(f"{name}=")]
        assert len(found) == 1, f"{name} is not a setting of the boot script"
        lines[found[0]] = f"{name}={shlex.quote(value)}"
    return "\n".join(lines) + "\n" + sep + tail


def recording_firewall(bin_dir: Path, log: Path) -> None:
    """iptables, ip6tables and nft that log their arguments and succeed (a chain check
    included), standing in where real rules would change this machine's firewall."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("iptables", "ip6tables", "nft"):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n')
        tool.chmod(0o755)
