"""What the management commands share."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError


def date_argument(value: str) -> dt.date:
    """An argparse `type` for a YYYY-MM-DD date, with a message that says what was wrong."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


class ExclusiveCommand(BaseCommand):
    """A command of which one runs at a time on a database (common/locks.py): a second one started
    while the first runs is refused with a message naming the holder, or waits with --wait. The
    lock is released by the database (or the kernel) when the holder ends, killed or not."""

    lock_name = ""  # default: the command's name

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument(
            "--wait",
            action="store_true",
            help="if the same command is running already, wait for it to finish instead of refusing",
        )
        return parser

    def execute(self, *args, **options):
        from common.locks import AlreadyRunning, exclusive

        wait = options.pop("wait", False)
        name = self.lock_name or self.__module__.rsplit(".", 1)[-1]
        try:
            with exclusive(name, wait=wait):
                return super().execute(*args, **options)
        except AlreadyRunning as exc:
            raise CommandError(exc.message) from exc
