"""Content checks of downloaded files: catalogue checksums, HTML pages, file signatures.

A size check proves that the right *number* of bytes arrived, not that they are the
right bytes: a resumed transfer glued to a partial file from an older version of the
file, a proxy's error page or a flipped bit all pass it. Where the catalogue publishes
a checksum, the finished file is hashed and compared:

* STAC ``file:checksum`` (file extension) is a *multihash* in hex: a varint hash
  function code, a varint digest length, then the digest
  (https://github.com/multiformats/multihash; Earth Search writes ``1220…``, SHA2-256);
* CMR UMM-G ``DataGranule.ArchiveAndDistributionInformation[].Checksum`` is
  ``{"Value": hex, "Algorithm": "SHA-256" | "MD5" | …}`` (UMM-G 1.6 schema). OB.DAAC's
  PACE records carry none today, so PACE files are checked by size and by their
  NetCDF-4/HDF5 signature.

Checksums are normalised to ``"<hashlib name>:<lowercase hex>"`` (``sha256:ab12…``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# multihash function codes (multicodec table) -> hashlib names
_MULTIHASH = {
    0x11: "sha1",
    0x12: "sha256",
    0x13: "sha512",
    0x14: "sha3_512",
    0x16: "sha3_256",
    0x20: "sha384",
    0xD5: "md5",
    0xB220: "blake2b_256",
    0xB240: "blake2b",
}
# UMM-G Checksum.Algorithm values -> hashlib names (the ones hashlib has)
_UMM_ALGOS = {
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
}

_NC_MAGIC = (b"\x89HDF\r\n\x1a\n", b"CDF\x01", b"CDF\x02", b"CDF\x05")
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml version")


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        b = data[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7


def parse_multihash(value: str) -> str | None:
    """``"sha256:<hex>"`` from a hex multihash, or None when it is malformed or of an unknown function."""
    try:
        raw = bytes.fromhex(value.strip())
        code, i = _varint(raw, 0)
        length, i = _varint(raw, i)
    except ValueError:
        return None
    algo = _MULTIHASH.get(code)
    digest = raw[i:]
    if algo is None or len(digest) != length or length == 0:
        return None
    return f"{algo}:{digest.hex()}"


def stac_checksum(asset: Mapping[str, Any]) -> str | None:
    """The normalised checksum of a STAC asset's ``file:checksum``, if any."""
    v = asset.get("file:checksum")
    return parse_multihash(str(v)) if v else None


def umm_checksum(umm: Mapping[str, Any], name: str) -> str | None:
    """The normalised checksum of file ``name`` from a UMM-G record, if the record has one."""
    infos = (umm.get("DataGranule") or {}).get("ArchiveAndDistributionInformation") or []
    chosen = [i for i in infos if i.get("Name") == name] or (infos if len(infos) == 1 else [])
    for info in chosen:
        ck = info.get("Checksum") or {}
        algo = _UMM_ALGOS.get(str(ck.get("Algorithm", "")).lower().replace("-", "").replace("_", ""))
        value = str(ck.get("Value", "")).strip().lower()
        if algo and value and all(c in "0123456789abcdef" for c in value):
            return f"{algo}:{value}"
    return None


def file_digest(path: Path, algo: str, chunk: int = 1 << 20) -> str:
    """Hex digest of ``path`` with hashlib ``algo`` (``blake2b_256`` = BLAKE2b with a 32-byte digest)."""
    h = hashlib.blake2b(digest_size=32) if algo == "blake2b_256" else hashlib.new(algo)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def checksum_problem(path: Path, checksum: str) -> str | None:
    """Why ``path`` does not match ``checksum`` (``algo:hex``), or None when it does."""
    algo, _, want = checksum.partition(":")
    got = file_digest(path, algo)
    if got != want:
        return f"{algo} checksum {got[:16]}… does not match the catalogue's {want[:16]}…"
    return None


def looks_like_html(head: bytes, content_type: str | None = None) -> bool:
    """Is this body a web page (login, error or captcha page; an S3 XML error) rather than a data file?"""
    if content_type and content_type.split(";")[0].strip().lower() in (
        "text/html",
        "application/xhtml+xml",
    ):
        return True
    return head.lstrip()[:16].lower().startswith(_HTML_STARTS)


def netcdf_problem(path: Path) -> str | None:
    """None when ``path`` starts with the HDF5 (NetCDF-4) or classic NetCDF signature."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        return f"cannot read the downloaded file: {exc}"
    if any(head.startswith(m) for m in _NC_MAGIC):
        return None
    return "downloaded file is not NetCDF-4/HDF5"


def to_multihash(checksum: str) -> str | None:
    """The hex multihash (STAC ``file:checksum``) of a normalised ``algo:hex`` checksum."""
    algo, _, digest = checksum.partition(":")
    codes = {v: k for k, v in _MULTIHASH.items()}
    code = codes.get(algo)
    if code is None or not digest:
        return None

    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            b = n & 0x7F
            n >>= 7
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)

    raw = bytes.fromhex(digest)
    return (varint(code) + varint(len(raw)) + raw).hex()
