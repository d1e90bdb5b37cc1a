"""`python -m restaurant.webserver ...`: daphne, with an access log that redacts secrets.

The same command line as `python -m daphne` (`manage.py serve` runs it); every URL daphne logs
goes through `restaurant.logs.redact_url` first, so a PIN or token a misbehaving client put in
a query string never reaches the log.
"""

from __future__ import annotations

from daphne.cli import CommandLineInterface
from daphne.server import Server

from restaurant.logs import redacting_action_logger


class RedactingServer(Server):
    def __init__(self, *args, action_logger=None, **kwargs):
        super().__init__(*args, action_logger=redacting_action_logger(action_logger), **kwargs)


class RedactingCommandLine(CommandLineInterface):
    server_class = RedactingServer


if __name__ == "__main__":
    RedactingCommandLine.entrypoint()
