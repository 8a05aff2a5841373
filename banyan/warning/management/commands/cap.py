"""``banyan cap import FILE|URL``: import an official warning from a government CAP 1.2 message.

A URL is fetched here with urllib (http or https only, a timeout, at most 1 MB, redirects only to
http or https); the parser itself never touches the network. A refused message prints the reason and
exits with status 1. Importing the same message again changes nothing.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from banyan.warning.cap import MAX_CAP_BYTES, CapError
from banyan.warning.services import import_official_warning

FETCH_TIMEOUT_S = 15
ALLOWED_SCHEMES = ("http", "https")


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlsplit(newurl).scheme.lower() not in ALLOWED_SCHEMES:
            raise urllib.error.URLError(f"refused a redirect to {newurl!r}: only http and https are followed")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    # No FileHandler/FTPHandler: build_opener adds the defaults, so start from a bare director.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        _HttpOnlyRedirects(),
    ):
        opener.add_handler(handler)
    return opener


def _read_limited(stream) -> bytes:
    data = stream.read(MAX_CAP_BYTES + 1)
    if len(data) > MAX_CAP_BYTES:
        raise CapError(f"the message is larger than {MAX_CAP_BYTES // 1024} KB")
    return data


def fetch(url: str) -> bytes:
    """The body at an http(s) URL, at most 1 MB; ``CapError`` with the reason otherwise."""
    if urlsplit(url).scheme.lower() not in ALLOWED_SCHEMES:
        raise CapError(f"{url!r}: only http and https URLs are fetched")
    request = urllib.request.Request(
        url, headers={"Accept": "application/cap+xml, application/xml, text/xml"}
    )
    try:
        with _opener().open(request, timeout=FETCH_TIMEOUT_S) as response:
            return _read_limited(response)
    except urllib.error.HTTPError as error:
        raise CapError(f"{url}: the server answered {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise CapError(f"{url}: could not fetch it ({reason})") from None


def read_source(source: str) -> bytes:
    if "://" in source:
        return fetch(source)
    path = Path(source)
    try:
        with path.open("rb") as stream:
            return _read_limited(stream)
    except OSError as error:
        raise CapError(f"{source}: cannot read the file ({error.strerror or error})") from None


class Command(BaseCommand):
    help = "Official CAP 1.2 warnings: `banyan cap import FILE|URL` stores one (idempotent)."

    def add_arguments(self, parser):
        subcommands = parser.add_subparsers(dest="subcommand", required=True)
        importer = subcommands.add_parser(
            "import", help="import a CAP 1.2 message from a file or http(s) URL"
        )
        importer.add_argument("source", help="a file path, or an http(s) URL")

    def handle(self, *args, subcommand: str, source: str, **options):

        try:
            data = read_source(source)
            warning, created = import_official_warning(
                actor="cap-import", data=data, source_url=source if "://" in source else ""
            )
        except (CapError, ValueError) as error:
            reason = getattr(error, "reason", str(error))
            raise CommandError(f"Refused {source}: {reason}", returncode=1) from None
        what = (
            f"{warning.sender} {warning.identifier} ({warning.msg_type}, {warning.severity or 'no severity'})"
        )
        headline = warning.headline_en or warning.headline_zh or warning.event
        if created:
            self.stdout.write(f"Imported {what}: {headline}" if headline else f"Imported {what}")
        else:
            self.stdout.write(f"Already imported {what}; nothing changed")
