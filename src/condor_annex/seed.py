"""Making an HTCondor installation a seed: central manager plus a submit node for annexes.

One function, `configure_seed`, used by `annex seed configure` on a real installation
and by the local pool for itself, so the local tests exercise exactly what a cloud seed
gets. It writes:
  - the seed role config (templates/seed-role.config) into the config directory, and
    where the master can run the tool, its elastic annex controller as a daemon
    (templates/seed-autoscaler.config);
  - the pool's token signing key, once (a re-run keeps it, so issued tokens stay valid);
  - the start-up hook (templates/seed-forwarding.sh) that, at every boot, blocks the
    instance metadata service for every local user but root and condor (failing, so
    HTCondor does not start, when it cannot) and sets TCP_FORWARDING_HOST from the
    instance metadata, and, where systemd runs HTCondor, a drop-in that runs it before
    condor.service starts.
Every step is idempotent; the result says what changed.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.secretfiles import write_secret
from condor_annex.templates import render

ROLE_FILE = "50-condor-annex-seed.config"
FORWARDING_FILE = "51-condor-annex-forwarding.config"
AUTOSCALER_FILE = "52-condor-annex-autoscaler.config"
HOOK_NAME = "condor-annex-seed-forwarding"
SIGNING_KEY = "POOL"
SYSTEMD_DROP_IN = Path("condor.service.d") / "50-condor-annex-seed.conf"
IMDS_BLOCK_MARKER = "# @IMDS_BLOCK@"


@dataclass(frozen=True)
class SeedLayout:
    """Where a seed's pieces go (defaults come from the installation's own config)."""

    config_dir: Path
    password_dir: Path
    token_dir: Path
    hook_dir: Path
    annex_domain: str
    systemd_dir: Path | None = None  # None: HTCondor is not started by systemd here
    # The elastic annex controller the master runs (None: none, as on the local pool).
    autoscaler: Autoscaler | None = None

    @property
    def role_config(self) -> Path:
        return self.config_dir / ROLE_FILE

    @property
    def autoscaler_config(self) -> Path:
        return self.config_dir / AUTOSCALER_FILE

    @property
    def forwarding_config(self) -> Path:
        return self.config_dir / FORWARDING_FILE

    @property
    def hook(self) -> Path:
        return self.hook_dir / HOOK_NAME

    @property
    def signing_key(self) -> Path:
        return self.password_dir / SIGNING_KEY


@dataclass(frozen=True)
class Autoscaler:
    """The controller as a daemon of the seed's master: this Python, its module, and the
    state home it serves (where `annex` on the seed keeps its annexes)."""

    python: Path
    home: Path

    @classmethod
    def here(cls, home: Path) -> Autoscaler:
        return cls(Path(sys.executable), home)

    def args(self) -> str:
        log = "$(LOG)/AnnexAutoscalerLog"  # the master expands $(LOG)
        return f"-m condor_annex.autoscale.daemon {self.home} --stay --log {log}"


@dataclass
class SeedReport:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if not self.changed:
            return ["The seed is already configured; nothing changed."]
        return [f"Wrote {item}." for item in self.changed] + [
            f"Kept {item} (already as wanted)." for item in self.unchanged
        ]


def _write_if_different(path: Path, text: str, mode: int, report: SeedReport) -> None:
    if path.is_file() and path.read_text() == text:
        report.unchanged.append(str(path))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    report.changed.append(str(path))


def _template(name: str) -> str:
    return resources.files("condor_annex").joinpath("templates", name).read_text()


def with_imds_block(script: str) -> str:
    """`script` with its one "# @IMDS_BLOCK@" line replaced by templates/imds-block.sh, the
    metadata block the seed's hook and every worker's boot script share."""
    if script.count(IMDS_BLOCK_MARKER) != 1:
        raise ValueError(f"the script must say {IMDS_BLOCK_MARKER!r} exactly once")
    return script.replace(IMDS_BLOCK_MARKER, _template("imds-block.sh").rstrip("\n"))


def _write_autoscaler(layout: SeedLayout, report: SeedReport) -> None:
    """The controller's daemon entry (after the role: it adds to its DAEMON_LIST), or
    none, removing one an earlier run wrote."""
    controller = layout.autoscaler
    if controller is None:
        if layout.autoscaler_config.is_file():
            layout.autoscaler_config.unlink()
            report.changed.append(f"{layout.autoscaler_config} (removed)")
        return
    entry = render(
        "seed-autoscaler.config",
        program=controller.python,
        args=controller.args(),
        annex_home=controller.home,
    )
    _write_if_different(layout.autoscaler_config, entry, 0o644, report)


def hook_source() -> str:
    return with_imds_block(_template("seed-forwarding.sh"))


def configure_seed(layout: SeedLayout) -> SeedReport:
    """Write (or confirm) every piece of the seed role; never replaces an existing key."""
    report = SeedReport()
    for directory in (layout.password_dir, layout.token_dir):
        directory.mkdir(parents=True, mode=0o700, exist_ok=True)
        directory.chmod(0o700)
    if layout.signing_key.is_file():
        report.unchanged.append(f"the signing key {layout.signing_key}")
    else:
        write_secret(layout.signing_key, secrets.token_urlsafe(48))
        report.changed.append(f"a new signing key {layout.signing_key}")
    role = render(
        "seed-role.config",
        password_dir=layout.password_dir,
        token_dir=layout.token_dir,
        annex_domain=layout.annex_domain,
        forwarding_config=layout.forwarding_config,
    )
    _write_if_different(layout.role_config, role, 0o644, report)
    _write_autoscaler(layout, report)
    _write_if_different(layout.hook, hook_source(), 0o755, report)
    if layout.systemd_dir is not None:
        drop_in = (
            "# condor-annex: set TCP_FORWARDING_HOST from the instance metadata at each start.\n"
            f"[Service]\nExecStartPre={layout.hook} {layout.forwarding_config}\n"
        )
        _write_if_different(layout.systemd_dir / SYSTEMD_DROP_IN, drop_in, 0o644, report)
    return report


def run_hook(layout: SeedLayout, env: dict[str, str] | None = None) -> str:
    """Run the start-up hook once now (as at boot); returns what it said. A UsageError
    when it fails (the metadata block could not be put in place): fail closed."""
    proc = subprocess.run(
        ["bash", str(layout.hook), str(layout.forwarding_config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env=env,
    )
    said = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        last = said.splitlines()[-1] if said else f"exit {proc.returncode}"
        raise UsageError(f"the seed's start-up hook failed: {last}")
    return said


def systemd_dir() -> Path | None:
    """/etc/systemd/system when systemd manages services here, else None."""
    if Path("/run/systemd/system").is_dir() and shutil.which("systemctl"):
        return Path("/etc/systemd/system")
    return None


# -- one annex on the seed: its signing key and its owners -----------------------------
OWNERS_FILE = "60-condor-annex-owners-{annex}.config"


def annex_key_name(annex: str) -> str:
    """The signing key of one annex's tokens, in the seed's password directory. Deleting
    it revokes every token it signed (annex names are letters, digits and '-')."""
    return f"annex-{annex}"


def ensure_annex_key(password_dir: Path, annex: str) -> bool:
    """Make the annex's key unless it exists; True when it was made now."""
    path = password_dir / annex_key_name(annex)
    if path.is_file():
        return False
    write_secret(path, secrets.token_urlsafe(48))
    return True


def rotate_annex_key(password_dir: Path, annex: str) -> None:
    """A new key for the annex: tokens signed with the old one no longer authenticate."""
    write_secret(password_dir / annex_key_name(annex), secrets.token_urlsafe(48))


def delete_annex_key(password_dir: Path, annex: str) -> None:
    (password_dir / annex_key_name(annex)).unlink(missing_ok=True)


def owners_clause(annex: str, owners: tuple[str, ...]) -> str:
    """START_VANILLA_UNIVERSE's clause for one annex (names are validated words)."""
    return f'(SLOT.AnnexName =!= "{annex}" || stringListMember(JOB.Owner, "{",".join(owners)}"))'


def write_owners(config_dir: Path, annex: str, owners: tuple[str, ...]) -> None:
    """Restrict the annex's slots to `owners`' jobs on the seed's schedd (no owners: lift
    the restriction). The schedd applies it at its next reconfig."""
    path = config_dir / OWNERS_FILE.format(annex=annex)
    if not owners:
        path.unlink(missing_ok=True)
        return
    path.write_text(
        f"# condor-annex: annex {annex} runs only these owners' jobs. Generated file.\n"
        f"CONDOR_ANNEX_OWNERS_OK = $(CONDOR_ANNEX_OWNERS_OK) && {owners_clause(annex, owners)}\n"
    )
    path.chmod(0o644)
