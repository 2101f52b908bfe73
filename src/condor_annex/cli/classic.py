"""`condor_annex`: the classic command line, mapped onto the same API as `annex`.

    condor_annex -count 10 -duration 24 -idle 0.25 -annex-name X [-yes]   on-demand
    condor_annex -slots 20 -aws-spot-fleet-config-file F -annex-name X     spot fleet
    condor_annex -annex-name X -duration 48                                renew
    condor_annex -status [-annex-name X] [-classad]                        status
    condor_annex [-annex-name X] status [condor_status options]            condor_status
    condor_annex -setup [FROM INSTANCE | accessKeyFile secretKeyFile]      account
    condor_annex -help                                                     usage reminder

Every flag of HTCondor's condor_annex manual page is accepted with its meaning (see
classicusage.py). As the classic tool did, annexes start on AWS (unless
ANNEX_DEFAULT_PROVIDER names another provider), and only the user who starts one may run
jobs on it unless -owner or -no-owner says otherwise. Durations are decimal hours.
Usage errors are one line and exit 2, failures exit 1, through the same mapping as
`annex`, and messages name this command's flags. Nothing heavy is imported before the
command line is parsed, so -help and usage errors answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from condor_annex.cli.classicusage import (
    ENDPOINT_FLAGS,
    FLAGS,
    PROG,
    USER_DATA_FLAGS,
    given_flags,
    in_classic_words,
    parser,
    usage,
)
from condor_annex.errors import AnnexError, UsageError

if TYPE_CHECKING:
    from condor_annex.api import Annexes

ON_DEMAND_FLAGS = tuple(f.name for f in FLAGS if f.section == "on-demand")
SPOT_FLAGS = ("-aws-spot-fleet", "-aws-spot-fleet-config-file")
CREATE_ONLY = tuple(f.name for f in FLAGS if f.create_only)
DEVELOPER = {f.name: f.help for f in FLAGS if f.section == "developer"}
QUESTION = "Is that OK? (Type 'yes' or 'no') "


def _say(message: str) -> None:
    print(in_classic_words(message), flush=True)


def _whole(value: str, flag: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"{flag} takes a whole number, not {value!r}") from None


def _mode(args: argparse.Namespace) -> str:
    """What the command line asks for: one form of the manual page, or a one-line error."""
    if args.command not in (None, "status"):
        raise UsageError(f"unknown word {args.command!r}; only `status` may follow the flags")
    modes = [
        name
        for name, asked in (
            ("-setup", args.setup is not None),
            ("-check-setup", args.check_setup),
            ("-status", args.status),
            ("status", args.command == "status"),
            ("-count", args.count is not None),
            ("-slots", args.slots is not None),
        )
        if asked
    ]
    if len(modes) > 1:
        raise UsageError(f"give one of {', '.join(modes)}, not several")
    mode = modes[0] if modes else ("renew" if args.annex_name and args.duration else "")
    if not mode:
        raise UsageError(
            "to renew an annex's lease give -annex-name NAME -duration HOURS; to start one, "
            "-annex-name NAME with -count N or -slots N (-help lists every form)"
            if args.annex_name
            else "say what to do: -count N or -slots N with -annex-name NAME, -status, "
            "-setup or -check-setup (-help lists every form)"
        )
    creating = mode in ("-count", "-slots")
    misplaced = [] if creating else given_flags(args, CREATE_ONLY)
    if misplaced:
        raise UsageError(f"{', '.join(misplaced)}: only when starting an annex (-count or -slots)")
    return mode


def _check_kind(args: argparse.Namespace, mode: str) -> None:
    """On-demand and spot fleet flags do not mix."""
    if mode == "-count":
        wrong = given_flags(args, SPOT_FLAGS)
        if wrong:
            raise UsageError(f"{', '.join(wrong)}: only for spot fleets (-slots), not -count")
    if mode == "-slots":
        wrong = given_flags(args, ON_DEMAND_FLAGS)
        if wrong:
            raise UsageError(
                f"{', '.join(wrong)}: only for on-demand annexes (-count); a spot fleet takes "
                "its choices from -aws-spot-fleet-config-file"
            )
    if args.owner and args.no_owner:
        raise UsageError("give -owner or -no-owner, not both")
    user_data = given_flags(args, USER_DATA_FLAGS)
    if len(user_data) > 1:
        raise UsageError(f"give one of {', '.join(user_data)}, not several")


def _aws_options(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    """The flags as the AWS provider's options (by the dest of its `annex` options)."""
    options: dict[str, Any] = {"classic": True}

    def put(key: str, value: Any) -> None:
        if value not in (None, False, (), [], {}):
            options[key] = value

    put("region", args.aws_region)
    put("access_key_file", Path(args.aws_access_key_file) if args.aws_access_key_file else None)
    put("secret_key_file", Path(args.aws_secret_key_file) if args.aws_secret_key_file else None)
    endpoints = {
        service: getattr(args, flag.lstrip("-").replace("-", "_"))
        for service, flag in ENDPOINT_FLAGS.items()
    }
    put("endpoints", {service: url for service, url in endpoints.items() if url})
    put("instance_type", args.aws_on_demand_instance_type)
    put("image", args.aws_on_demand_ami_id)
    put("tag", tuple(tuple(pair) for pair in args.tag or ()))
    put("key_name", args.aws_on_demand_key_name)
    groups = args.aws_on_demand_security_group_ids
    put("security_group", (groups,) if groups else None)
    put("config_dir", Path(args.config_dir) if args.config_dir else None)
    user_data_file = args.aws_user_data_file or args.aws_default_user_data_file
    put("user_data_file", Path(user_data_file) if user_data_file else None)
    put("user_data", args.aws_user_data or args.aws_default_user_data)
    if mode == "-slots":
        from condor_annex.settings import param

        config = args.aws_spot_fleet_config_file or param("ANNEX_DEFAULT_SFR_CONFIG_FILE")
        if not config:
            raise UsageError(
                "-slots needs -aws-spot-fleet-config-file FILE (the spot fleet request)"
            )
        options["fleet_config"] = Path(config)
    if mode == "-setup":
        _setup_credentials(args, options)
    return options


def _setup_credentials(args: argparse.Namespace, options: dict[str, Any]) -> None:
    """-setup's words: FROM INSTANCE, two key files, or nothing (the credential chain)."""
    values = args.setup
    if values == ["FROM", "INSTANCE"]:
        options["from_instance"] = True
    elif values:
        if len(values) != 2:
            raise UsageError(
                "-setup takes FROM INSTANCE, or an access key file and a secret key file, "
                "or nothing (the AWS credential chain)"
            )
        if args.aws_access_key_file or args.aws_secret_key_file:
            raise UsageError("give the key files to -setup or as -aws-*-key-file, not both")
        options["access_key_file"], options["secret_key_file"] = (Path(v) for v in values)


def _provider(args: argparse.Namespace) -> str:
    """AWS, as the classic tool always was; ANNEX_DEFAULT_PROVIDER may name another, unless
    AWS flags were given."""
    from condor_annex.settings import param

    aws_flags = [f for f in given_flags(args) if f.startswith("-aws-") or f == "-slots"]
    return "aws" if aws_flags else (param("ANNEX_DEFAULT_PROVIDER") or "aws")


def _owners(args: argparse.Namespace) -> tuple[list[str], bool]:
    """-owner's users, none for -no-owner, else the user running the command (and whether
    that default applied)."""
    if args.no_owner:
        return [], False
    if args.owner:
        return [o.strip() for o in args.owner.split(",") if o.strip()], False
    import pwd

    return [pwd.getpwuid(os.getuid()).pw_name], True


def _create(annexes: Annexes, args: argparse.Namespace, mode: str) -> int:
    from condor_annex.cli.prompt import confirm_or_refuse
    from condor_annex.durations import parse_duration

    if not args.annex_name:
        raise UsageError(f"{mode} needs -annex-name NAME")
    count = _whole(args.count if mode == "-count" else args.slots, mode)
    lease = parse_duration(args.duration, "-duration") if args.duration else None
    lease = lease or annexes.settings.lease_seconds
    # As `annex create` does: without -idle, the idle limit never exceeds the lease.
    idle = parse_duration(args.idle, "-idle") if args.idle else None
    idle = min(annexes.settings.idle_seconds, lease) if idle is None else idle
    owners, by_default = _owners(args)
    request = annexes.request(args.annex_name, count, lease, idle, owners=owners)
    notes = [
        f"Note: {flag} is ignored here: {DEVELOPER[flag].removeprefix('Ignored: ')}"
        for flag in given_flags(args, tuple(DEVELOPER))
    ]
    if by_default:
        notes.append(f"Only jobs of {owners[0]} will run on it (-owner or -no-owner changes that).")
    ask = confirm_or_refuse(args.yes, "-yes", QUESTION)

    def confirm(summary: str) -> bool:
        """The notes go after the summary, once every check has passed, before the question."""
        for note in notes:
            _say(note)
        return ask(summary)

    record = annexes.create(request, _provider(args), confirm=confirm, say=_say)
    slots = f" ({count} slots)" if mode == "-slots" else ""
    _say(
        f"Started {len(record.workers)} workers{slots} in annex '{record.name}'; they join "
        "the pool within minutes."
    )
    return 0


def _account(annexes: Annexes, args: argparse.Namespace) -> int:
    account = annexes.account("aws")
    if args.setup is not None:
        account.setup(_say)
        return 0
    return 0 if account.check_setup(_say) else 1


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.help:
        print(usage(), end="")
        return 0
    mode = _mode(args)
    _check_kind(args, mode)
    options = _aws_options(args, mode)
    from condor_annex.api import Annexes

    annexes = Annexes(options={"aws": options})
    if mode in ("-setup", "-check-setup"):
        return _account(annexes, args)
    if mode in ("-count", "-slots"):
        return _create(annexes, args, mode)
    if mode == "status":
        from condor_annex.cli.classicstatus import condor_status_view

        return condor_status_view(annexes, args.annex_name, args.rest)
    if mode == "-status":
        return _status(annexes, args)
    return _renew(annexes, args)


def _status(annexes: Annexes, args: argparse.Namespace) -> int:
    statuses = annexes.status(args.annex_name)
    if args.classad or args.classads:
        from condor_annex.cli.classicstatus import status_classads

        print(status_classads(statuses))
    else:
        from rich.console import Console

        from condor_annex.cli.render import print_status

        print_status(statuses, Console(highlight=False, soft_wrap=True))
    return 0


def _renew(annexes: Annexes, args: argparse.Namespace) -> int:
    from condor_annex.durations import parse_duration

    lease = parse_duration(args.duration, "-duration")
    record = annexes.renew(args.annex_name, lease)
    _say(
        f"Lease of '{args.annex_name}' renewed for {lease / 3600:g} hours "
        f"({len(record.live_workers)} workers)."
    )
    return 0


def main() -> None:
    try:
        code = run(sys.argv[1:])
    except (AnnexError, KeyboardInterrupt) as err:
        from condor_annex.cli.runner import report

        if isinstance(err, AnnexError):  # name this command's flags, not `annex`'s
            err.args = (in_classic_words(str(err)),)
        code = report(err, PROG)
    sys.exit(code)


__all__ = ["main", "run"]
