"""The classic command line's flags and words, as data: the parser, the usage reminder
(`condor_annex -help`) and the translation of messages into its own flag names all come
from here. Nothing heavy is imported, so -help and usage errors answer at once.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from dataclasses import dataclass
from typing import NoReturn

from condor_annex.errors import UsageError

PROG = "condor_annex"


@dataclass(frozen=True)
class Flag:
    name: str  # "-annex-name"
    help: str
    metavar: str = ""  # "" for a flag without a value
    section: str = "common"
    values: int | str = 1  # 0, 1, 2 (NAME VALUE) or "*" (-setup's)
    # Applies only when an annex is started (-count or -slots).
    create_only: bool = False
    # The `annex create` flag it is (for messages written in that command's words).
    annex_flag: str = ""

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")


SECTIONS = {
    "forms": "What to do",
    "common": "Common options",
    "on-demand": "On-demand instances (-count)",
    "spot": "Spot fleets (-slots)",
    "expert": "Experts: the account and AWS's endpoints",
    "developer": "Developers: accepted, and ignored here",
}
FLAGS: tuple[Flag, ...] = (
    Flag("-help", "Print this reminder.", values=0, section="forms"),
    Flag("-annex-name", "The annex (letters, digits, '-').", "NAME", "forms", annex_flag="NAME"),
    Flag(
        "-count",
        "Start N on-demand instances.",
        "N",
        "forms",
        create_only=True,
        annex_flag="--count",
    ),
    Flag(
        "-slots",
        "Start a spot fleet of N slots (weighted capacity units).",
        "N",
        "forms",
        create_only=True,
    ),
    Flag(
        "-setup",
        "Set up the region once (key files, FROM INSTANCE, or the AWS credential chain).",
        "[FROM INSTANCE | ACCESS_KEY_FILE SECRET_KEY_FILE]",
        "forms",
        values="*",
    ),
    Flag("-check-setup", "Check each part of the region's setup.", values=0, section="forms"),
    Flag("-status", "Show annexes (with -annex-name, one).", values=0, section="forms"),
    Flag("-classad", "With -status: one ClassAd per annex.", values=0, section="forms"),
    Flag("-classads", "The same as -classad.", values=0, section="forms"),
    Flag(
        "-duration",
        "Lease in decimal hours (or 90s, 15m, 2h, 1d); alone with -annex-name it renews "
        "the lease [ANNEX_DEFAULT_LEASE_DURATION, else 0.83].",
        "HOURS",
        annex_flag="--duration",
    ),
    Flag(
        "-idle",
        "A worker leaves after this long unclaimed [ANNEX_DEFAULT_UNCLAIMED_TIMEOUT, else "
        "0.25; never above the lease].",
        "HOURS",
        create_only=True,
        annex_flag="--idle",
    ),
    Flag("-yes", "Start without asking.", values=0, create_only=True, annex_flag="--yes"),
    Flag(
        "-owner",
        "Only these users' jobs run on the annex [default: yours alone].",
        "USER[,USER]",
        create_only=True,
        annex_flag="--owner",
    ),
    Flag(
        "-no-owner",
        "Any job of the pool may run on the annex.",
        values=0,
        create_only=True,
    ),
    Flag(
        "-config-dir",
        "Copy the directory's files into each worker's HTCondor configuration directory "
        "(regular files only).",
        "DIR",
        create_only=True,
        annex_flag="--config-dir",
    ),
    Flag(
        "-tag",
        "Tag every instance (repeat for more tags).",
        "NAME VALUE",
        values=2,
        create_only=True,
        annex_flag="--tag",
    ),
    Flag(
        "-aws-region",
        "The region [ANNEX_DEFAULT_AWS_REGION, the AWS configuration, else us-east-1].",
        "REGION",
        annex_flag="--region",
    ),
    Flag(
        "-aws-user-data",
        "cloud-init user data run after the worker's own boot script (multi-part user data).",
        "DATA",
        create_only=True,
        annex_flag="--user-data",
    ),
    Flag(
        "-aws-user-data-file",
        "The same, from a file.",
        "FILE",
        create_only=True,
        annex_flag="--user-data-file",
    ),
    Flag(
        "-aws-default-user-data",
        "The same as -aws-user-data here: no launch specification brings its own.",
        "DATA",
        create_only=True,
    ),
    Flag(
        "-aws-default-user-data-file",
        "The same as -aws-user-data-file here.",
        "FILE",
        create_only=True,
    ),
    Flag(
        "-aws-on-demand",
        "On-demand instances (the default with -count).",
        values=0,
        section="on-demand",
        create_only=True,
    ),
    Flag(
        "-aws-on-demand-instance-type",
        "Instance type [ANNEX_DEFAULT_ODI_INSTANCE_TYPE, else m4.large].",
        "TYPE",
        "on-demand",
        create_only=True,
        annex_flag="--instance-type",
    ),
    Flag(
        "-aws-on-demand-ami-id",
        "Image [the region's ANNEX_DEFAULT_ODI_IMAGE_ID, which `annex image build` "
        "records; else Amazon Linux 2023, installing HTCondor at boot].",
        "AMI",
        "on-demand",
        create_only=True,
        annex_flag="--image",
    ),
    Flag(
        "-aws-on-demand-security-group-ids",
        "Security groups added to the setup's own.",
        "SG[,SG]",
        "on-demand",
        create_only=True,
        annex_flag="--security-group",
    ),
    Flag(
        "-aws-on-demand-key-name",
        "The key pair (it must exist).",
        "KEY",
        "on-demand",
        create_only=True,
        annex_flag="--key-name",
    ),
    Flag(
        "-aws-spot-fleet",
        "A spot fleet (the default with -slots).",
        values=0,
        section="spot",
        create_only=True,
    ),
    Flag(
        "-aws-spot-fleet-config-file",
        "The classic Spot Fleet request (JSON): its launch specifications' instance types, "
        "weights, prices, images and subnets become one EC2 Fleet launch; the annex keeps "
        "its own tags, lease, role and boot script [ANNEX_DEFAULT_SFR_CONFIG_FILE].",
        "FILE",
        "spot",
        create_only=True,
    ),
    Flag(
        "-aws-access-key-file",
        "File holding the access key id (mode 0600) [ANNEX_DEFAULT_ACCESS_KEY_FILE].",
        "FILE",
        "expert",
        annex_flag="--access-key-file",
    ),
    Flag(
        "-aws-secret-key-file",
        "File holding the secret key (mode 0600) [ANNEX_DEFAULT_SECRET_KEY_FILE].",
        "FILE",
        "expert",
        annex_flag="--secret-key-file",
    ),
    Flag("-aws-ec2-url", "EC2 endpoint (https).", "URL", "expert"),
    Flag("-aws-events-url", "EventBridge (CloudWatch Events) endpoint.", "URL", "expert"),
    Flag("-aws-lambda-url", "Lambda endpoint.", "URL", "expert"),
    Flag("-aws-s3-url", "S3 endpoint.", "URL", "expert"),
    Flag(
        "-aws-on-demand-lease-function-arn",
        "Ignored: leases are instance tags the setup's reaper reads every minute.",
        "ARN",
        "developer",
    ),
    Flag(
        "-aws-spot-fleet-lease-function-arn",
        "Ignored: the same reaper ends spot annexes.",
        "ARN",
        "developer",
    ),
    Flag(
        "-aws-on-demand-instance-profile-arn",
        "Ignored: each annex gets its own instance role, which can read only its own files.",
        "ARN",
        "developer",
    ),
)
ENDPOINT_FLAGS = {"ec2": "-aws-ec2-url", "events": "-aws-events-url"}
ENDPOINT_FLAGS |= {"lambda": "-aws-lambda-url", "s3": "-aws-s3-url"}
USER_DATA_FLAGS = (
    "-aws-user-data",
    "-aws-user-data-file",
    "-aws-default-user-data",
    "-aws-default-user-data-file",
)

FORMS = f"""\
{PROG}: add AWS instances to an HTCondor pool for a bounded time (the classic command line).

  {PROG} -help
  {PROG} [-aws-region REGION] -setup [FROM INSTANCE | ACCESS_KEY_FILE SECRET_KEY_FILE]
  {PROG} [-aws-region REGION] -check-setup
  {PROG} [-aws-on-demand] -annex-name NAME -count N [-aws-on-demand-*] [common options]
  {PROG} [-aws-spot-fleet] -annex-name NAME -slots N [-aws-spot-fleet-config-file FILE]
               [common options]
  {PROG} -annex-name NAME -duration HOURS                     (renew the lease)
  {PROG} [-annex-name NAME] -status [-classad]
  {PROG} [options] status [condor_status options]     (HTCondor's condor_status view)

Annexes start on AWS unless ANNEX_DEFAULT_PROVIDER names another provider. Durations
are decimal hours. `annex --help` shows the same annexes with the newer command line.
"""


def usage() -> str:
    """The reminder `-help` prints: the forms, then each section's flags."""
    lines = [FORMS]
    for section, title in SECTIONS.items():
        lines.append(f"{title}:")
        for flag in (f for f in FLAGS if f.section == section):
            lines.append(f"  {flag.name} {flag.metavar}".rstrip())
            lines += textwrap.wrap(flag.help, 88, initial_indent=" " * 6, subsequent_indent=" " * 6)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    """Single-dash flags, any unambiguous prefix of one (as the classic tool took them);
    a bare `status` word passes what follows to condor_status."""
    p = _Parser(prog=PROG, add_help=False)
    for flag in FLAGS:
        if flag.values == 0:
            p.add_argument(flag.name, action="store_true")
        elif flag.values == 2:
            p.add_argument(flag.name, nargs=2, action="append", metavar=("NAME", "VALUE"))
        elif flag.values == "*":
            p.add_argument(flag.name, nargs="*")
        else:
            p.add_argument(flag.name, metavar=flag.metavar)
    p.add_argument("command", nargs="?")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def given_flags(args: argparse.Namespace, names: tuple[str, ...] | None = None) -> list[str]:
    """The flags given on the command line (of `names`, or of all)."""
    return [
        f.name
        for f in FLAGS
        if (names is None or f.name in names) and getattr(args, f.dest) not in (None, False, [])
    ]


# `annex` words in messages from the shared code, in this command's words. Whole phrases
# first, then single flags (longest first, so --user-data-file is not --user-data + "-file").
PHRASES = (
    (
        re.compile(r"`annex setup --provider aws --region (\S+)`"),
        rf"`{PROG} -aws-region \1 -setup`",
    ),
    (re.compile(r"`annex setup --provider aws`"), f"`{PROG} -setup`"),
    (re.compile(r"--provider aws"), "AWS (ANNEX_DEFAULT_PROVIDER = aws)"),
)
_FLAG_NAMES = {f.annex_flag: f.name for f in FLAGS if f.annex_flag.startswith("--")}
_FLAG = re.compile(
    "|".join(re.escape(k) + r"(?![\w-])" for k in sorted(_FLAG_NAMES, key=len, reverse=True))
)


def in_classic_words(message: str) -> str:
    """A message from the shared code with `annex` flags named as this command's."""
    for pattern, replacement in PHRASES:
        message = pattern.sub(replacement, message)
    return _FLAG.sub(lambda m: _FLAG_NAMES[m.group(0)], message)
