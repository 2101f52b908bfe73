"""Provider options on the command line: each provider declares its flags as data
(`interfaces.options.Option`); here they become click options, and what the user gave
goes back, per provider, to the API unopened. The CLI never names a provider's concepts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from condor_annex.cli.params import DURATION, MEMORY, TAG, NameList
from condor_annex.errors import UsageError
from condor_annex.interfaces import Option, Scope
from condor_annex.providers import registry

Command = Callable[..., Any]
PREFIX = "provider_option__"
LIST = NameList("a,b,c")


def _click_option(option: Option, owners: list[str]) -> Callable[[Command], Command]:
    help_text = f"[{','.join(owners)}] {option.help}"
    param = PREFIX + option.dest
    kind = option.kind
    if kind == "flag":
        return click.option(option.flag, param, is_flag=True, help=help_text)
    if kind in ("pairs", "repeat"):
        kind_type = TAG if kind == "pairs" else str
        return click.option(option.flag, param, type=kind_type, multiple=True, help=help_text)
    types: dict[str, Any] = {
        "text": str,
        "int": int,
        "float": float,
        "path": click.Path(path_type=Path),
        "list": LIST,
        "duration": DURATION,
        "memory": MEMORY,
    }
    return click.option(
        option.flag, param, type=types[kind], metavar=option.metavar, help=help_text
    )


def _declared(
    scopes: Iterable[Scope], only: str | None = None
) -> dict[str, tuple[Option, list[str]]]:
    """Each flag once, with the providers that declare it."""
    found: dict[str, tuple[Option, list[str]]] = {}
    for name in [only] if only else registry.names():
        for option in registry.options(name, tuple(scopes)):
            found.setdefault(option.dest, (option, []))[1].append(name)
    return found


def provider_options(*scopes: Scope, only: str | None = None) -> Callable[[Command], Command]:
    """Decorate a command with every provider's options of these scopes (or only those
    of one provider, for the provider's own commands)."""

    def decorate(command: Command) -> Command:
        for option, owners in reversed(list(_declared(scopes, only).values())):
            command = _click_option(option, owners)(command)
        return command

    return decorate


def given(kwargs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Pop the provider options from a command's keyword arguments: per provider, the
    values that were given (by Option.dest)."""
    result: dict[str, dict[str, Any]] = {}
    for key in [k for k in kwargs if k.startswith(PREFIX)]:
        value = kwargs.pop(key)
        if value in (None, False, (), []):
            continue
        dest = key.removeprefix(PREFIX)
        for owner in registry.owner_of(dest):
            result.setdefault(owner, {})[dest] = value
    return result


def choose(
    explicit: str | None, options: dict[str, dict[str, Any]], capability: str, default: str
) -> str:
    """The provider a command without an annex acts on: --provider, else the one whose
    options were given, else the configured default; it must have the capability."""
    able = registry.with_capability(capability)
    if explicit:
        chosen = explicit
    else:
        implied = [name for name in options if name in able]
        if len(implied) > 1:
            raise UsageError(
                f"options of several providers given ({', '.join(implied)}); pass --provider"
            )
        chosen = implied[0] if implied else default
    if chosen not in able:
        raise UsageError(
            f"provider {chosen!r} has no {capability}; pass --provider with one of: "
            f"{', '.join(able) or 'none'}"
        )
    return chosen
