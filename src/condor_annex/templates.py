"""Rendering the config and script files kept in `condor_annex/templates/` (or in a
provider package's own `templates/`).

Placeholders are `{{name}}`; HTCondor's own `$(MACRO)` syntax passes through untouched.
Every placeholder must be given and every value used, so a typo fails loudly.
"""

from __future__ import annotations

import re
from importlib import resources

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def read(template: str, package: str = "condor_annex") -> str:
    """A template file's text as shipped, from `package`'s templates/ directory."""
    return resources.files(package).joinpath("templates", template).read_text()


def render(template: str, package: str = "condor_annex", **values: object) -> str:
    text = read(template, package)
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template {template} needs a value for {key!r}")
        used.add(key)
        return str(values[key])

    rendered = _PLACEHOLDER.sub(substitute, text)
    unused = set(values) - used
    if unused:
        raise KeyError(f"template {template} has no place for {sorted(unused)}")
    return rendered
