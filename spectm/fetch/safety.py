"""Path and secret safety for everything ``fetch`` writes.

Two rules hold for every file and record ``fetch`` produces:

* **Nothing is written outside the data directory.** File names come from remote
  metadata (CMR ``ProducerGranuleId``, STAC item ids and asset keys); a hostile or
  broken record could carry ``../`` or an absolute path. :func:`safe_name` and
  :func:`safe_join` refuse such names with a :class:`~spectm.errors.BadInputError`
  before any byte is written.
* **Credentials never leave memory.** URLs are recorded only after
  :func:`redact_url` removed user info and signature/token query parameters
  (Planetary Computer SAS tokens, S3 pre-signed URLs); request headers (the Earthdata
  bearer token) are never logged or written.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from spectm.errors import BadInputError

# Query parameters that carry secrets: Azure SAS (sig, se, st, sp, sv, sr, sk*), S3 pre-signed
# URLs (X-Amz-*), generic tokens. Matching is case-insensitive.
_SECRET_PARAMS = {
    "sig", "signature", "token", "access_token", "api_key", "apikey", "key", "code",
    "se", "st", "sp", "sv", "sr", "spr", "sip", "skoid", "sktid", "skt", "ske", "sks", "skv", "ss", "srt",
}
_SECRET_PREFIXES = ("x-amz-", "x-goog-")

# A file or directory name we are willing to create: no separators, not "." or "..", printable.
_NAME_OK = re.compile(r"^[A-Za-z0-9._+\-=@,]+$")


def safe_name(name: str, what: str = "file name") -> str:
    """Return ``name`` if it is a single safe path component, else raise BadInputError.

    Why: names come from remote metadata; ``../../etc/x`` or ``/abs`` must never become a
    path. Only ``[A-Za-z0-9._+-=@,]`` are allowed, which covers every NASA granule name,
    STAC item id and asset key seen in practice.
    """
    if not name or name in {".", ".."} or not _NAME_OK.match(name) or name.startswith("."):
        raise BadInputError(
            f"refusing unsafe {what} {name!r} from remote metadata (it could write outside the data directory)",
            "report the record to the data provider; spectm only writes plain names under <data-dir>/raw",
        )
    return name


def safe_join(root: Path, *parts: str) -> Path:
    """Join name components under ``root`` and prove the result stays inside it."""
    for p in parts:
        safe_name(p, "path component")
    root_resolved = Path(root).resolve()
    path = root_resolved.joinpath(*parts)
    resolved = path.resolve()
    if resolved != root_resolved and root_resolved not in resolved.parents:
        raise BadInputError(
            f"refusing path {path} outside the data directory {root_resolved}",
            "check for symbolic links inside <data-dir>/raw",
        )
    return path


def redact_url(url: str) -> str:
    """Drop credentials from a URL: user info and secret query parameters (SAS, pre-signed)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _SECRET_PARAMS and not k.lower().startswith(_SECRET_PREFIXES)
    ]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment))

