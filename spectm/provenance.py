"""Provenance: the one place for fingerprints, run keys, completion markers and atomic writes.

Every stage of ``spectm run`` must skip work whose output is complete and resume after a
failure where it stopped. That property rests on three rules, kept here so that every stage
follows the same ones:

* **keys** — a stage's output is identified by a short hash of its resolved configuration and
  the fingerprints of its inputs (:func:`config_key`, :func:`stage_run_id`,
  :func:`file_fingerprint`, :func:`zarr_fingerprint`, :func:`tree_sha256`): change either and new output is made, keep
  both and the same output is found again;
* **markers** — output is complete only when its marker (``complete.json`` for run
  directories, a manifest for stores) exists; the marker is written last, atomically
  (:func:`mark_complete`, :func:`is_complete`);
* **atomic writes** — a file or directory appears under its final name only when it is whole
  (:func:`atomic_path`, :func:`atomic_write_json`, :func:`atomic_write_text`,
  :func:`replace_dir`), so a killed process leaves either the old artefact or none, never half
  of one. Temporary names start with a dot and keep the final suffix (GDAL picks the driver of
  a ``.gpkg`` or ``.tif`` by it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

COMPLETE = "complete.json"


# --- keys and fingerprints -------------------------------------------------------------------


def config_key(payload: Any, length: int = 10, *, separators: tuple[str, str] = (",", ":")) -> str:
    """Stable short hash of a JSON-able payload (sorted keys; paths and dates as strings).

    ``separators`` is part of the key: an artefact keyed with other JSON spacing keeps its own.
    """
    text = json.dumps(payload, sort_keys=True, default=str, separators=separators)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def stage_run_id(pipeline_name: str, stage: str, payload: Any) -> str:
    """Deterministic run id of a pipeline stage: same configuration + inputs → same id."""
    return f"{pipeline_name}-{stage}-{config_key(payload)}"


def parts_key(parts: Sequence[str], length: int | None = None) -> str:
    """SHA-256 (hex, optionally cut to ``length``) of ``parts`` joined by ``|`` — the key of an
    artefact made from several fingerprints (a feature store: version, parameters, cube, samples)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:length]


def file_sha256(path: Path) -> str:
    """SHA-256 of one file, read in 1 MiB blocks (inputs may be large)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_fingerprint(path: Path) -> str:
    """SHA-256 of a file, or of a directory's small metadata files (``*.json``) and names.

    Directories (Zarr stores, run directories) are fingerprinted by their JSON documents — the
    stores' metadata and the stages' manifests, which change whenever their content does — not
    by every chunk.
    """
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    if not path.exists():
        return "missing"
    h = hashlib.sha256()
    for p in sorted(path.rglob("*.json")):
        h.update(str(p.relative_to(path)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def zarr_fingerprint(path: Path, columns: Mapping[str, Iterable[Any]] | None = None) -> str:
    """SHA-256 of a Zarr store's metadata documents (``zarr.json``) and a few small 1-D arrays.

    Not a hash of every chunk: a season of imagery is gigabytes. A cube's values are fixed by
    its settings (recorded in its metadata) and its inputs (the per-slice provenance arrays
    passed in ``columns``, e.g. ``source_ids``), and any (re)build rewrites the metadata, so
    the fingerprint changes whenever the store does.
    """
    h = hashlib.sha256()
    for meta in sorted(Path(path).rglob("zarr.json")):
        h.update(str(meta.relative_to(path)).encode())
        h.update(meta.read_bytes())
    for name, values in (columns or {}).items():
        h.update(name.encode())
        h.update("\n".join(map(str, values)).encode())
    return h.hexdigest()


def tree_sha256(path: Path) -> str:
    """SHA-256 over the relative paths and bytes of every file under ``path`` (or of one file).

    Unlike :func:`file_fingerprint` it reads every byte: it checks that a finished store is
    the one its manifest describes, not whether a store changed.
    """
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        h.update(str(f.relative_to(path.parent if path.is_file() else path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def git_commit() -> str:
    """HEAD of the repository holding spectm (``+dirty`` when it has local changes), else 'unknown'."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --- atomic writes ---------------------------------------------------------------------------


def temp_path(path: Path) -> Path:
    """The temporary sibling of ``path``: hidden, per process, with ``path``'s suffix kept."""
    path = Path(path)
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


@contextlib.contextmanager
def atomic_path(path: Path, *, replace_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; on success it replaces ``path``.

    On an exception the temporary file (or directory) is removed and ``path`` is untouched.
    A directory target (a Zarr store) needs ``replace_dir=True``: the old directory is removed
    just before the rename, since a rename cannot replace a non-empty directory.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    _remove(tmp)  # left by a killed run of the same process id
    try:
        yield tmp
        if replace_dir:
            replace_dir_with(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """``write(tmp)`` then rename over ``path`` (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        write(tmp)


def atomic_write_text(path: Path, text: str, *, fsync: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; ``fsync`` also survives a power cut."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_json(path: Path, data: Any, *, indent: int = 1, newline: bool = True, fsync: bool = True) -> None:
    """Write JSON to ``path`` atomically (values JSON cannot hold are written as strings)."""
    text = json.dumps(data, indent=indent, default=str) + ("\n" if newline else "")
    atomic_write_text(path, text, fsync=fsync)


def replace_dir_with(tmp: Path, final: Path) -> None:
    """Replace the directory ``final`` by the complete directory ``tmp``."""
    final = Path(final)
    if final.exists():
        shutil.rmtree(final)
    Path(tmp).rename(final)


# --- completion markers ----------------------------------------------------------------------


def is_complete(run_dir: Path) -> bool:
    return (Path(run_dir) / COMPLETE).exists()


def read_complete(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / COMPLETE).read_text(encoding="utf-8"))


def mark_complete(run_dir: Path, summary: dict[str, Any]) -> None:
    """Write ``complete.json`` last and atomically: its presence means every output is in place."""
    atomic_write_json(Path(run_dir) / COMPLETE, summary, indent=2, newline=False, fsync=False)
