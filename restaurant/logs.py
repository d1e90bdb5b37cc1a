"""Keeping secrets out of logs.

Brigade's clients never put a secret in a URL (PINs, tokens and pairing codes travel in JSON
bodies and the Authorization header), and the API refuses a query string that carries one
(`secret_in_url`). A client that does it anyway still reaches the web server's access log
before Brigade can refuse it, so the server `manage.py serve` runs (`python -m
restaurant.webserver`: daphne with a redacting access log) writes such values as `[redacted]`.
"""

from __future__ import annotations

import re

# Query parameters whose value is a secret (compared case-insensitively).
SECRET_QUERY_NAMES = frozenset(
    {
        "pin",
        "approver_pin",
        "token",
        "access_token",
        "password",
        "secret",
        "client_secret",
        "code",
        "api_key",
        "key",
    }
)

REDACTED = "[redacted]"
_PARAMETER = re.compile(r"(?P<sep>[?&;])(?P<name>[^=&;#]*)=(?P<value>[^&;#]*)")


def _plain(name: str) -> str:
    from urllib.parse import unquote_plus

    return unquote_plus(name).strip().lower()


def redact_url(url: str) -> str:
    """`url` with the value of every secret query parameter replaced by `[redacted]`."""
    if "?" not in url:
        return url
    path, _sep, rest = url.partition("?")

    def replace(match: re.Match) -> str:
        if _plain(match["name"]) in SECRET_QUERY_NAMES:
            return f"{match['sep']}{match['name']}={REDACTED}"
        return match.group()

    return path + _PARAMETER.sub(replace, "?" + rest)


def redacting_action_logger(logger):
    """Wrap daphne's access logger (`action_logger`) so no URL it writes carries a secret."""
    if logger is None:
        return None

    def log(protocol, action, details):
        if isinstance(details, dict) and isinstance(details.get("path"), str):
            details = {**details, "path": redact_url(details["path"])}
        return logger(protocol, action, details)

    return log
