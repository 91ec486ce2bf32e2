"""The mail server Ledgerline hands its e-mails to, read from an `smtp[s]://` URL."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from email.utils import parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

DEFAULT_MAIL_FROM = "billing@ledgerline.invalid"
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class SmtpTarget:
    """The mail server Ledgerline hands its e-mails to, and the address they come from."""

    host: str
    port: int
    mail_from: str = DEFAULT_MAIL_FROM
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str, *, default_from: str = DEFAULT_MAIL_FROM) -> SmtpTarget:
        """Read `smtp[s]://[user:password@]host[:port][?starttls=true&from=addr]`.

        Error messages never quote the URL: it may hold the password.
        """
        try:
            parts = urlsplit(url.strip())
            port = parts.port
            options = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False)
        except ValueError:
            raise ValueError(
                "SMTP URL is malformed; expected smtp://user:password@host:port?starttls=true "
                "or smtps://user:password@host:465, with special characters percent-encoded"
            ) from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ValueError("SMTP URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("SMTP URL names no host")
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("SMTP URL takes no path or fragment")
        known = {"starttls", "from"}
        names = [name for name, _ in options]
        unknown = sorted(set(names) - known)
        if unknown:
            raise ValueError(f"SMTP URL has unknown options {unknown}; known are {sorted(known)}")
        if len(names) != len(set(names)):
            raise ValueError("SMTP URL repeats an option")
        values = dict(options)
        starttls = BOOLEANS.get(values.get("starttls", "false").lower())
        if starttls is None:
            raise ValueError("SMTP URL option starttls must be true or false")
        if starttls and scheme == "smtps":
            raise ValueError("smtps:// is already encrypted; starttls applies to smtp:// only")
        username = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        if (username is None) != (password is None) or username == "":
            raise ValueError("SMTP URL needs both a user name and a password, or neither")
        encrypted = starttls or scheme == "smtps"
        if username is not None and not encrypted and not _is_loopback(parts.hostname):
            raise ValueError(
                "SMTP credentials would cross the network in clear text: use smtps:// or "
                "?starttls=true"
            )
        return cls(
            host=parts.hostname,
            port=port if port is not None else DEFAULT_PORTS[scheme],
            mail_from=_address(values.get("from", default_from)),
            implicit_tls=scheme == "smtps",
            starttls=starttls,
            username=username,
            password=password,
        )

    def scrub(self, text: str) -> str:
        """The text with the password blanked out, for anything stored or logged."""
        return text.replace(self.password, "***") if self.password else text


def _address(value: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address:
        raise ValueError("the sender address must look like name@domain")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
