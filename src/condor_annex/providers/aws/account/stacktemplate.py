"""The account stack's template: a file in templates/, with the reaper's source put inline.

Inlining (Code.ZipFile) keeps setup to one stack and no upload step: the function's code
is this package's reaper module, byte for byte, so what `annex reap` runs locally is what
runs in Lambda. CloudFormation places inline code in `index.py` (hence `index.handler`).
"""

from __future__ import annotations

from importlib import resources

MARKER = "# @REAPER_SOURCE@"
TEMPLATE_NAME = "account.yaml"


def template_text(name: str = TEMPLATE_NAME) -> str:
    return (resources.files("condor_annex.providers.aws") / "templates" / name).read_text()


def reaper_source() -> str:
    return (resources.files("condor_annex.providers.aws") / "reaper.py").read_text()


def account_template() -> str:
    """The template with the marker line replaced by the reaper's source, indented alike."""
    lines = template_text().splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.strip().startswith(MARKER)]
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    code = [f"{indent}{line}" if line else "" for line in reaper_source().splitlines()]
    return "\n".join([*lines[:index], *code, *lines[index + 1 :]]) + "\n"
