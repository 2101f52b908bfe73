"""Provider options, declared as data: the CLI turns them into flags and hands the values
back to the provider unopened, so the core never names a provider's concepts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    CREATE = "create"  # only where workers are started (annex create)
    LOCATION = "location"  # on every command that reaches the provider (where, credentials)
    SETUP = "setup"  # only on account setup


@dataclass(frozen=True)
class Option:
    """One flag. `kind` is one of: text, int, float, flag, path, list (a,b,c), pairs
    (KEY=VALUE, repeatable), repeat (repeatable text), duration, memory."""

    flag: str  # "--instance-type"
    help: str
    kind: str = "text"
    scope: Scope = Scope.CREATE
    metavar: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")
