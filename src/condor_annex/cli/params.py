"""Click parameter types for the forms users type: durations and memory sizes."""

from __future__ import annotations

import re

import click

from condor_annex.durations import parse_duration
from condor_annex.errors import UsageError


class Duration(click.ParamType):
    """90s, 15m, 2h, 1d, or decimal hours; converts to seconds."""

    name = "DURATION"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        what = f"--{param.name}" if param and param.name else "duration"
        try:
            return parse_duration(str(value), what)
        except UsageError as err:
            self.fail(str(err), param, ctx)


class MemorySize(click.ParamType):
    """512M, 2G, or plain megabytes; converts to megabytes."""

    name = "SIZE"
    _PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([MmGg]?)[Bb]?\s*$")

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        match = self._PATTERN.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a memory size; use e.g. 512M or 2G", param, ctx)
        number = float(match.group(1))
        return round(number * 1024) if match.group(2).lower() == "g" else round(number)


DURATION = Duration()
MEMORY = MemorySize()


class Tag(click.ParamType):
    """KEY=VALUE; converts to a (key, value) pair."""

    name = "KEY=VALUE"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, sep, tag_value = str(value).partition("=")
        if not sep or not key.strip():
            self.fail(f"{value!r} is not KEY=VALUE, e.g. --tag project=cms", param, ctx)
        return key.strip(), tag_value


class NameList(click.ParamType):
    """a,b,c; converts to a tuple of names (what they must look like is checked later)."""

    name = "NAME,NAME,..."

    def __init__(self, example: str) -> None:
        self.example = example

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        names = tuple(n.strip() for n in str(value).split(",") if n.strip())
        if not names:
            self.fail(f"give at least one name, e.g. {self.example}", param, ctx)
        return names


TAG = Tag()
TYPE_LIST = NameList("m5.large,m6i.large")
NAME_LIST = NameList("alice,bob")
