"""Path and secret safety for everything ``fetch`` writes.

Two rules hold for every file and record ``fetch`` produces:

* **Nothing is written outside the data directory.** File names come from remote
  metadata (CMR ``ProducerGranuleId``, STAC item ids and asset keys); a hostile or
  broken record could carry ``../`` or an absolute path. :func:`safe_name` and
  :func:`safe_join` refuse such names with a :class:`~spectm.errors.BadInputError`
  before any byte is written.
* **Credentials never leave memory.** URLs and messages are recorded only after
  :func:`spectm.redact.redact` removed user info and signature/token query parameters
  (Planetary Computer SAS tokens, S3 pre-signed URLs); request headers (the Earthdata
  bearer token) are never logged or written.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from spectm.errors import BadInputError

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


REMOTE_SCHEMES = ("http", "https")


def remote_href_problem(href: str | None) -> str | None:
    """Why an asset href of a *remote* STAC item must not be followed, or None when it may.

    Why: GDAL and requests open whatever they are given. An item from a STAC API whose
    asset points at ``file:///etc/...``, ``/home/...`` or ``../x.tif`` would make spectm
    read (and copy into ``raw/``) a local file the catalogue has no business naming.
    Only ``http``/``https`` URLs are followed, in clip and no-clip modes alike; other
    schemes (``s3://`` needs direct-access credentials spectm does not configure) are
    refused with this reason.
    """
    if not href:
        return "the asset has no href"
    scheme = urlsplit(href).scheme.lower()
    if scheme in REMOTE_SCHEMES and urlsplit(href).netloc:
        return None
    if scheme == "file" or not scheme or len(scheme) == 1:  # "C:\\x" parses as scheme "c"
        return f"refusing local path {href!r} in a remote STAC item (only http(s) asset hrefs are followed)"
    return f"refusing {scheme}:// asset href (only http(s) asset hrefs are followed)"
