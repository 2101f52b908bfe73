"""parse_duration / format_duration: the duration forms users type and the short form shown."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from condor_annex.durations import MAX_SECONDS, format_duration, parse_duration
from condor_annex.errors import UsageError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _usage_error(text: str, what: str = "duration") -> UsageError:
    with pytest.raises(UsageError) as info:
        parse_duration(text, what)
    err = info.value
    assert "\n" not in str(err)
    return err


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("1d", 86400),
        ("0.25", 900),
        ("1", 3600),
        ("1.5h", 5400),
        (".5", 1800),
        ("2.", 7200),
        ("1.5m", 90),
        ("1s", 1),
    ],
)
def test_parse_known_values(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90S", 90), ("15M", 900), ("2H", 7200), ("1D", 86400), (" 15 m ", 900), ("\t2h\n", 7200)],
)
def test_parse_ignores_case_and_surrounding_space(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_parse_returns_int() -> None:
    assert type(parse_duration("0.25")) is int
    assert type(parse_duration("1.4s")) is int
    assert parse_duration("1.4s") == 1


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "",
        "   ",
        "-5m",
        "5x",
        "1.2.3",
        "h",
        "5 m s",
        "1e3",
        "inf",
        "nan",
        "5mm",
        "+5m",
        "1,5h",
    ],
)
def test_parse_rejects_bad_strings(text: str) -> None:
    err = _usage_error(text)
    message = str(err)
    assert "is not a duration" in message
    # The message tells the user which forms are accepted.
    for example in ("90s", "15m", "2h", "1d", "0.25"):
        assert example in message


def test_parse_rejects_newline_in_value_with_one_line_message() -> None:
    err = _usage_error("5m\n5m")
    assert "is not a duration" in str(err)


@pytest.mark.parametrize(
    "text", ["0", "0s", "0m", "0h", "0d", "0.5s", "0.999s", "0.0001", ".0001h"]
)
def test_parse_rejects_durations_under_one_second(text: str) -> None:
    err = _usage_error(text)
    assert "at least 1 second" in str(err)


def test_parse_rejects_overflow_as_usage_error() -> None:
    # A number too large for a float still ends as a one-line UsageError, not a crash.
    _usage_error("9" * 400 + "d")


def test_parse_overflow_is_not_reported_as_too_short() -> None:
    err = _usage_error("9" * 400 + "d")
    assert "too short" not in str(err)


def test_parse_error_names_the_option() -> None:
    err = _usage_error("soon", what="--idle")
    assert str(err).startswith("--idle 'soon'")


def test_parse_accepts_non_string_by_str() -> None:
    assert parse_duration(2) == 7200  # type: ignore[arg-type]


@settings(max_examples=200)
@given(n=st.integers(min_value=1, max_value=10**6), unit=st.sampled_from(sorted(UNITS)))
def test_parse_integer_with_unit_round_trips(n: int, unit: str) -> None:
    seconds = n * UNITS[unit]
    if seconds > MAX_SECONDS:
        with pytest.raises(UsageError, match="too long"):
            parse_duration(f"{n}{unit}")
        return
    assert parse_duration(f"{n}{unit}") == seconds
    assert parse_duration(f"{n}{unit.upper()}") == seconds


@settings(max_examples=200)
@given(
    whole=st.integers(min_value=0, max_value=1000),
    frac=st.text(alphabet="0123456789", min_size=0, max_size=4),
)
def test_parse_plain_decimal_is_hours(whole: int, frac: str) -> None:
    # At most 4 fraction digits: hours*3600 is then a multiple of 0.04 s, never a .5 tie,
    # so the exact (Fraction) result rounds the same way as any correct float computation.
    text = f"{whole}.{frac}" if frac else str(whole)
    exact = Fraction(text) * 3600
    if exact < 1:
        _usage_error(text)
    else:
        assert parse_duration(text) == round(exact)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1, "1s"),
        (42, "42s"),
        (59, "59s"),
        (60, "1m"),
        (90, "1m30s"),
        (65, "1m05s"),
        (900, "15m"),
        (3599, "59m59s"),
        (3600, "1h00m"),
        (3900, "1h05m"),
        (3661, "1h01m"),
        (86400, "24h00m"),
        (-5, "0s"),
        (-0.4, "0s"),
        (59.6, "1m"),
        (0.4, "0s"),
    ],
)
def test_format_known_values(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


_FORMAT = re.compile(r"^(?:(\d+)h(\d\d)m|(\d+)m(?:(\d\d)s)?|(\d+)s)$")


@settings(max_examples=200)
@given(seconds=st.integers(min_value=0, max_value=10**7))
def test_format_reads_back_to_the_value(seconds: int) -> None:
    text = format_duration(seconds)
    match = _FORMAT.match(text)
    assert match, text
    hours, hmins, mins, secs, only_secs = match.groups()
    if hours is not None:
        assert int(hmins) < 60
        shown = int(hours) * 3600 + int(hmins) * 60
        # Hours form drops the seconds: it is exact to the minute.
        assert shown <= seconds < shown + 60
        assert seconds >= 3600
    elif mins is not None:
        assert 1 <= int(mins) < 60
        assert secs is None or 1 <= int(secs) < 60
        assert int(mins) * 60 + int(secs or 0) == seconds
    else:
        assert int(only_secs) == seconds < 60


@settings(max_examples=100)
@given(n=st.integers(min_value=1, max_value=59), unit=st.sampled_from(["s", "m"]))
def test_format_of_parsed_short_durations_is_the_input(n: int, unit: str) -> None:
    assert format_duration(parse_duration(f"{n}{unit}")) == f"{n}{unit}"
