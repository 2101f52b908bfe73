"""validate_name: DNS-label shaped annex names (letters, digits, '-', at most 63 chars)."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from condor_annex.errors import UsageError
from condor_annex.names import MAX_LENGTH, validate_name, validate_pool_address

ALNUM = string.ascii_letters + string.digits
LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?")


def _usage_error(name: str) -> UsageError:
    with pytest.raises(UsageError) as info:
        validate_name(name)
    err = info.value
    assert "\n" not in str(err)
    return err


@st.composite
def valid_names(draw: st.DrawFn) -> str:
    first = draw(st.sampled_from(ALNUM))
    if draw(st.booleans()):
        return first
    middle = draw(st.text(alphabet=ALNUM + "-", max_size=MAX_LENGTH - 2))
    last = draw(st.sampled_from(ALNUM))
    return first + middle + last


def test_max_length_is_63() -> None:
    assert MAX_LENGTH == 63


@pytest.mark.parametrize(
    "name",
    ["a", "Z", "7", "demo", "my-annex", "a-b-c", "A1-b2", "x--y", "0" * 63, "a" + "-" * 61 + "b"],
)
def test_accepts_valid_names(name: str) -> None:
    assert validate_name(name) == name


@settings(max_examples=200)
@given(name=valid_names())
def test_accepts_every_label_up_to_63(name: str) -> None:
    assert LABEL.fullmatch(name)
    assert len(name) <= MAX_LENGTH
    assert validate_name(name) == name


def test_rejects_empty_name() -> None:
    err = _usage_error("")
    assert "empty" in str(err)
    assert "letters, digits and '-'" in str(err)


@pytest.mark.parametrize("length", [64, 65, 100, 1000])
def test_rejects_names_over_63(length: int) -> None:
    err = _usage_error("a" * length)
    assert f"{length} characters long" in str(err)
    assert "at most 63" in str(err)


@settings(max_examples=100)
@given(name=valid_names(), extra=st.text(alphabet=ALNUM, min_size=1, max_size=40))
def test_rejects_any_label_made_longer_than_63(name: str, extra: str) -> None:
    longer = (name + extra) * (MAX_LENGTH // len(name + extra) + 1)
    assert len(longer) > MAX_LENGTH
    err = _usage_error(longer)
    assert "at most 63" in str(err)


@pytest.mark.parametrize(
    "name",
    [
        "my_annex",
        "my.annex",
        "-demo",
        "demo-",
        "-",
        "--",
        "a b",
        "a/b",
        "é",
        "demo!",
        "a\tb",
        "a\nb",
    ],
)
def test_rejects_bad_characters_and_dash_at_ends(name: str) -> None:
    err = _usage_error(name)
    message = str(err)
    assert repr(name) in message
    assert "only letters, digits and '-'" in message
    assert "not at either end" in message


@settings(max_examples=200)
@given(
    name=valid_names().filter(lambda n: len(n) < MAX_LENGTH),
    bad=st.sampled_from(["_", "."]),
    data=st.data(),
)
def test_rejects_underscore_or_dot_anywhere(name: str, bad: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(min_value=0, max_value=len(name)))
    _usage_error(name[:at] + bad + name[at:])


@settings(max_examples=200)
@given(name=valid_names().filter(lambda n: len(n) < MAX_LENGTH), leading=st.booleans())
def test_rejects_dash_at_either_end(name: str, leading: bool) -> None:
    bad = "-" + name if leading else name + "-"
    err = _usage_error(bad)
    assert "not at either end" in str(err)


def test_rejects_trailing_newline() -> None:
    _usage_error("demo\n")


@pytest.mark.parametrize(
    "address", ["seed.example.org:9618", "seed", "10.0.0.7", "10.0.0.7:9618", "[fd00::7]:9618"]
)
def test_pool_addresses_that_are_host_and_port(address: str) -> None:
    assert validate_pool_address(address) == address


@pytest.mark.parametrize(
    ("address", "needle"),
    [
        ("seed.example.org:9618\nSTART = True", "not HOST[:PORT]"),  # a config line on workers
        ("seed example.org", "not HOST[:PORT]"),
        ("seed;rm -rf /", "not HOST[:PORT]"),
        ("$(FULL_HOSTNAME)", "not HOST[:PORT]"),
        ("", "not HOST[:PORT]"),
        ("seed:0", "bad port"),
        ("seed:70000", "bad port"),
        ("seed:", "not HOST[:PORT]"),
    ],
)
def test_pool_addresses_that_are_not(address: str, needle: str) -> None:
    with pytest.raises(UsageError, match=re.escape(needle)):
        validate_pool_address(address)
