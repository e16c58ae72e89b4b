"""The one place that removes secrets from text before spectm writes or prints it.

Signed URLs carry their credential in the query string: Azure SAS tokens (Planetary
Computer: ``sig``, ``se``, ``st``, ``sp``, ``sv``, ``sr``, ``skoid``, ``sktid``, ...),
S3 and GCS pre-signed URLs (``X-Amz-Signature``, ``X-Amz-Credential``,
``X-Amz-Security-Token``, ``X-Goog-*``) and generic ``token``/``access_token``/
``api_key`` parameters. URLs may also carry ``user:password@``. Such text reaches
spectm's outputs in many ways: asset hrefs, exception messages from requests/GDAL
(``... with url: /a.tif?sig=...``), log lines and tracebacks. :func:`redact` is applied
to every one of them (manifest records, failure tables, STAC items, cube attributes,
log records), so a leak needs a new output path that bypasses it, not a forgotten
parameter name in one of several copies.

Secret parameters are removed (not masked), so a redacted URL stays a valid URL
that identifies the file without granting access.
"""

from __future__ import annotations

import logging
import re
import traceback
from urllib.parse import parse_qsl, urlencode

# Matching is case-insensitive.
SECRET_PARAMS = frozenset(
    {
        "sig",
        "signature",
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "api_key",
        "apikey",
        "key",
        "code",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "auth",
        "authorization",
        # Azure SAS (account, service and user-delegation SAS)
        "se",
        "st",
        "sp",
        "sv",
        "sr",
        "spr",
        "sip",
        "ss",
        "srt",
        "sdd",
        "ses",
        "skoid",
        "sktid",
        "skt",
        "ske",
        "sks",
        "skv",
        "saoid",
        "suoid",
        "scid",
    }
)
SECRET_PREFIXES = ("x-amz-", "x-goog-", "x-ms-")

# user:password@ (or a bare token@) right after a scheme
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s?#@'\"<>]+@")
# a query string: from '?' up to whitespace, a quote, a bracket or a fragment
_QUERY = re.compile(r"\?([^\s'\"<>()\[\]{}#]*)")
_BEARER = re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9\-_.~+/]{12,}=*")


def _secret(name: str) -> bool:
    n = name.lower()
    return n in SECRET_PARAMS or n.startswith(SECRET_PREFIXES)


def _clean_query(m: re.Match[str]) -> str:
    query = m[1]
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        return m[0]
    kept = [(k, v) for k, v in pairs if not _secret(k)]
    if len(kept) == len(pairs):
        return m[0]
    return "?" + urlencode(kept) if kept else ""


def redact(text: str) -> str:
    """``text`` with URL credentials removed: user info, secret query parameters, bearer tokens.

    Works on a bare URL and on free text containing URLs (exception messages, log lines).
    """
    if not text:
        return text
    text = _USERINFO.sub(r"\1", text)
    text = _QUERY.sub(_clean_query, text)
    return _BEARER.sub(r"\1 <redacted>", text)


class RedactingFilter(logging.Filter):
    """A handler filter: every log record (message, arguments, traceback) goes through :func:`redact`.

    The traceback is rendered to text here so its exception messages can be cleaned too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            msg += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = redact(msg), ()
        return True
