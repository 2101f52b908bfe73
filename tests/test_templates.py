"""render(): {{name}} placeholders filled in the real templates; $(MACRO) text untouched."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from condor_annex.templates import render

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
TEMPLATES = ["seed-local.config", "seed-role.config", "worker.config"]

# What each template is known to need today; a template may grow, but must not lose these.
KNOWN = {
    "seed-local.config": {"local_dir", "port", "uid_domain", "config_dir"},
    "seed-role.config": {"password_dir", "token_dir", "annex_domain", "forwarding_config"},
    "worker.config": {
        "local_dir",
        "collector_host",
        "collector",
        "network",
        "instance_id",
        "uid_domain",
        "annex_domain",
        "cpus",
        "memory_mb",
        "annex_name",
        "idle_seconds",
        "update_interval",
    },
}


def _source(template: str) -> str:
    return resources.files("condor_annex").joinpath("templates", template).read_text()


def _keys(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(_source(template)))


def _markers(template: str) -> dict[str, object]:
    return {key: f"<<{key}>>" for key in _keys(template)}


SEED_VALUES: dict[str, object] = {
    "local_dir": "/var/annex/seed",
    "port": 9618,
    "uid_domain": "pool.example",
    "config_dir": "/var/annex/seed/config.d",
}
ROLE_VALUES: dict[str, object] = {
    "password_dir": "/etc/condor/passwords.d",
    "token_dir": "/etc/condor/tokens.d",
    "annex_domain": "annex.example",
    "forwarding_config": "/etc/condor/config.d/51-forwarding.config",
}


@pytest.mark.parametrize("template", TEMPLATES)
def test_templates_need_the_known_values(template: str) -> None:
    assert KNOWN[template] <= _keys(template)


@pytest.mark.parametrize("template", TEMPLATES)
def test_render_fills_every_placeholder(template: str) -> None:
    rendered = render(template, **_markers(template))
    assert "{{" not in rendered
    assert "}}" not in rendered
    for key in _keys(template):
        assert f"<<{key}>>" in rendered


@pytest.mark.parametrize("template", TEMPLATES)
def test_render_changes_nothing_but_placeholders(template: str) -> None:
    rendered = render(template, **_markers(template))
    # Put the placeholders back: the rest of the file, $(MACRO)s and all, is unchanged.
    restored = re.sub(r"<<(\w+)>>", r"{{\1}}", rendered)
    assert restored == _source(template)


@pytest.mark.parametrize(
    ("template", "macros"),
    [
        ("seed-local.config", ["LOG = $(LOCAL_DIR)/log", "CRED_STORE_DIR = $(LOCAL_DIR)/cred_dir"]),
        ("seed-role.config", ["ALLOW_DAEMON = condor@$(UID_DOMAIN)"]),
        (
            "worker.config",
            [
                "LOG = $(LOCAL_DIR)/log",
                "STARTD_ATTRS = $(STARTD_ATTRS) AnnexName IsAnnex",
                "MASTER_ATTRS = $(MASTER_ATTRS) AnnexName",
                "MASTER.DAEMON_SHUTDOWN_FAST = time() >= $(AnnexLeaseEnd)",
                "SEC_TOKEN_DIRECTORY = $(LOCAL_DIR)/tokens.d",
            ],
        ),
    ],
)
def test_htcondor_macros_pass_through(template: str, macros: list[str]) -> None:
    rendered = render(template, **_markers(template))
    for macro in macros:
        assert macro in rendered


def test_seed_config_values_land_on_their_lines() -> None:
    rendered = render("seed-local.config", **SEED_VALUES)
    lines = rendered.splitlines()
    assert "LOCAL_DIR = /var/annex/seed" in lines
    assert "LOCAL_CONFIG_DIR = /var/annex/seed/config.d" in lines
    assert "COLLECTOR_HOST = 127.0.0.1:9618" in lines
    assert "UID_DOMAIN = pool.example" in lines
    assert "FILESYSTEM_DOMAIN = seed.pool.example" in lines
    # A placeholder used many times is filled everywhere.
    assert rendered.count("pool.example") == _source("seed-local.config").count("{{uid_domain}}")


def test_seed_role_values_land_on_their_lines() -> None:
    lines = render("seed-role.config", **ROLE_VALUES).splitlines()
    assert "SEC_PASSWORD_DIRECTORY = /etc/condor/passwords.d" in lines
    assert "ALLOW_ADVERTISE_STARTD = condor@$(UID_DOMAIN) *@annex.example" in lines
    assert "include ifexist : /etc/condor/config.d/51-forwarding.config" in lines


def test_worker_config_values_land_on_their_lines() -> None:
    values: dict[str, object] = {key: f"v-{key}" for key in _keys("worker.config")}
    values.update(
        cpus=4,
        memory_mb=2048,
        idle_seconds=600,
        annex_name="demo",
        instance_id="demo-1",
        network="NETWORK_INTERFACE = 127.0.0.1",
    )
    lines = render("worker.config", **values).splitlines()
    assert "NUM_CPUS = 4" in lines
    assert "MEMORY = 2048" in lines
    assert 'AnnexName = "demo"' in lines
    # INSTANCE@ANNEX: the collector ties the name to the annex token that sent the ad.
    assert "MASTER_NAME = demo-1@demo" in lines
    assert "STARTD_NAME = demo-1@demo" in lines
    assert "STARTD_NOCLAIM_SHUTDOWN = 600" in lines
    assert "AnnexIdleTimeout = 600" in lines
    assert "NETWORK_INTERFACE = 127.0.0.1" in lines


def test_values_are_not_expanded_again() -> None:
    rendered = render("seed-local.config", **{**SEED_VALUES, "local_dir": "{{port}}$(X)"})
    assert "LOCAL_DIR = {{port}}$(X)" in rendered.splitlines()


@pytest.mark.parametrize("template", TEMPLATES)
def test_missing_value_raises_key_error(template: str) -> None:
    for key in sorted(_keys(template)):
        values = _markers(template)
        del values[key]
        with pytest.raises(KeyError) as info:
            render(template, **values)
        message = info.value.args[0]
        assert template in message
        assert repr(key) in message
        assert "needs a value" in message


@pytest.mark.parametrize("template", TEMPLATES)
def test_unused_value_raises_key_error(template: str) -> None:
    with pytest.raises(KeyError) as info:
        render(template, **_markers(template), lease_end=1, zz_typo="x")
    message = info.value.args[0]
    assert template in message
    assert "has no place for ['lease_end', 'zz_typo']" in message


@settings(max_examples=50)
@given(
    values=st.fixed_dictionaries(
        {
            key: st.text(alphabet=st.characters(exclude_characters="\r\n"), max_size=20)
            for key in sorted(SEED_VALUES)
        }
    )
)
def test_any_values_are_inserted_verbatim(values: dict[str, str]) -> None:
    rendered = render("seed-local.config", **values)
    lines = rendered.split("\n")
    assert f"LOCAL_DIR = {values['local_dir']}" in lines
    assert f"COLLECTOR_HOST = 127.0.0.1:{values['port']}" in lines


def test_unknown_template_raises() -> None:
    with pytest.raises(FileNotFoundError):
        render("no-such.config")
