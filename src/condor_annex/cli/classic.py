"""`condor_annex`: the classic command line, mapped onto the same API as `annex`.

    condor_annex -count 10 -duration 24 -idle 0.25 -annex-name X [-yes]   create
    condor_annex -annex-name X -duration 48                                renew
    condor_annex -status [-annex-name X] [-classad]                        status
    condor_annex -setup [accessKeyFile secretKeyFile] / -check-setup       account

Durations are decimal hours, as before. Every error is one line with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from condor_annex.api import Annexes
from condor_annex.cli.prompt import confirm_or_refuse
from condor_annex.cli.render import print_status, status_json
from condor_annex.cli.runner import report
from condor_annex.durations import parse_duration
from condor_annex.errors import AnnexError, UsageError

PROG = "condor_annex"
console = Console(highlight=False, soft_wrap=True)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> _Parser:
    p = _Parser(prog=PROG, description="The classic condor_annex command line.")
    p.add_argument("-annex-name", dest="name")
    p.add_argument("-count", type=int)
    p.add_argument("-duration", help="lease in decimal hours (or 90s, 15m, 2h, 1d)")
    p.add_argument("-idle", help="idle limit in decimal hours (or 90s, 15m, 2h, 1d)")
    p.add_argument("-yes", action="store_true")
    p.add_argument("-owner", help="only these users' jobs run on the annex: u1,u2")
    p.add_argument("-no-owner", action="store_true", help="any job of the pool (the default)")
    p.add_argument("-status", action="store_true")
    p.add_argument("-classad", action="store_true", help="with -status: machine-readable")
    p.add_argument("-setup", nargs="*", metavar="KEYFILE")
    p.add_argument("-check-setup", action="store_true")
    p.add_argument("-aws-region")
    p.add_argument("-aws-access-key-file", type=Path)
    p.add_argument("-aws-secret-key-file", type=Path)
    p.add_argument("-aws-on-demand-instance-type")
    p.add_argument("-aws-on-demand-ami-id")
    p.add_argument("-tag", nargs=2, action="append", metavar=("NAME", "VALUE"))
    return p


def _say(message: str) -> None:
    console.print(message, markup=False)


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:g} hours"


def _account(args: argparse.Namespace) -> int:
    from condor_annex.providers.aws import aws_session, check_setup, setup
    from condor_annex.providers.aws.account.condorconfig import default_user_config

    access, secret = args.aws_access_key_file, args.aws_secret_key_file
    if args.setup:
        if len(args.setup) != 2:
            raise UsageError("-setup takes no file or two: accessKeyFile secretKeyFile")
        access, secret = (Path(f) for f in args.setup)
    session = aws_session(args.aws_region, access, secret)
    if args.setup is not None:
        setup(session, _say, config_file=default_user_config())
        return 0
    return 0 if all(r.ok for r in check_setup(session, _say)) else 1


def _aws_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The -aws-* and -tag flags as the AWS provider's options; None when none was given
    (then the default provider)."""
    given = [
        args.aws_region,
        args.aws_access_key_file,
        args.aws_secret_key_file,
        args.aws_on_demand_instance_type,
        args.aws_on_demand_ami_id,
        args.tag,
    ]
    if not any(given):
        return None
    return {
        "region": args.aws_region,
        "access_key_file": args.aws_access_key_file,
        "secret_key_file": args.aws_secret_key_file,
        "instance_type": args.aws_on_demand_instance_type,
        "image": args.aws_on_demand_ami_id,
        "tag": tuple(tuple(pair) for pair in args.tag or ()),
        "classic": True,
    }


def _create(annexes: Annexes, args: argparse.Namespace) -> int:
    lease = parse_duration(args.duration, "-duration") if args.duration else None
    idle = parse_duration(args.idle, "-idle") if args.idle else None
    if args.owner and args.no_owner:
        raise UsageError("give -owner or -no-owner, not both")
    owners = [o.strip() for o in (args.owner or "").split(",") if o.strip()]
    request = annexes.request(args.name, args.count, lease, idle, owners=owners)
    # Any -aws-* flag means AWS, as the classic tool always did; else the configured one.
    provider = "aws" if "aws" in annexes.options else None
    confirm = confirm_or_refuse(args.yes, "-yes", "Is that OK? (Type 'yes' or 'no') ")
    record = annexes.create(request, provider, confirm=confirm, say=_say)
    _say(f"Started {len(record.workers)} workers in annex '{record.name}'.")
    return 0


def run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.setup is not None or args.check_setup:
        return _account(args)
    aws = _aws_options(args)
    annexes = Annexes(options={"aws": aws} if aws else None)
    if args.status:
        statuses = annexes.status(args.name)
        if args.classad:
            print(status_json(statuses))
        else:
            print_status(statuses, console)
        return 0
    if args.name and args.count is None and args.duration:
        lease = parse_duration(args.duration, "-duration")
        record = annexes.renew(args.name, lease)
        _say(
            f"Lease of '{args.name}' renewed for {_hours(lease)} ({len(record.live_workers)} "
            "workers)."
        )
        return 0
    if args.name and args.count is not None:
        return _create(annexes, args)
    raise UsageError("say what to do: -count N -annex-name NAME, -status, -setup or -check-setup")


def main() -> None:
    try:
        code = run(sys.argv[1:])
    except (AnnexError, KeyboardInterrupt) as err:
        code = report(err, PROG)
    sys.exit(code)


__all__ = ["main", "run"]
