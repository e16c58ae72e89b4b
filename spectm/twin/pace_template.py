"""The structure of a real PACE OCI L2 AOP v3.1 file, as data.

The twin must write granules that no reader can tell from NASA's. Rather than
re-typing ~400 attributes by hand (and drifting from the real file), the layout is
*extracted* from the real subset ``PACE_OCI.20250305T160933.L2.OC_AOP.V3_1.subset10x10.nc``
by :func:`extract_structure` and shipped as ``spectm/twin/data/pace_l2_aop_v3_1.json``.
The writer replays it; the structure test extracts a twin granule with the same
function and compares the two. Attribute values keep their NetCDF dtype so that a
``float`` attribute stays ``float`` and an ``int`` stays ``int``.

Regenerate the JSON with ``python -m spectm.twin.pace_template <real file>``.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np

TEMPLATE_PATH = Path(__file__).resolve().parent / "data" / "pace_l2_aop_v3_1.json"


def _encode_attr(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"dtype": "str", "value": value}
    arr = np.asarray(value)
    kind = arr.dtype.str.lstrip("<>|=")
    return {"dtype": kind, "value": arr.tolist(), "scalar": arr.ndim == 0}


def decode_attr(spec: dict[str, Any]) -> Any:
    """Turn a template attribute back into the value netCDF4 writes with the right dtype."""
    if spec["dtype"] == "str":
        return spec["value"]
    arr = np.asarray(spec["value"], dtype=np.dtype(spec["dtype"]))
    return arr[()] if spec.get("scalar") else arr


def _group(g: netCDF4.Group) -> dict[str, Any]:
    out: dict[str, Any] = {
        "attrs": {k: _encode_attr(g.getncattr(k)) for k in g.ncattrs()},
        "dims": {name: len(d) for name, d in g.dimensions.items()},
        "variables": {},
        "groups": {},
    }
    for name, v in g.variables.items():
        out["variables"][name] = {
            "dtype": v.dtype.str.lstrip("<>|="),
            "dims": list(v.dimensions),
            "attrs": {k: _encode_attr(v.getncattr(k)) for k in v.ncattrs()},
        }
    for name, sub in g.groups.items():
        out["groups"][name] = _group(sub)
    return out


def extract_structure(path: Path | str) -> dict[str, Any]:
    """Groups, dimensions (with sizes), variables (dtype, dims, attributes) of a NetCDF file."""
    with netCDF4.Dataset(path) as ds:
        return _group(ds)


@lru_cache(maxsize=1)
def load_template() -> dict[str, Any]:
    """The shipped structure of a real v3.1 L2 AOP file (see the module docstring)."""
    return json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))


if __name__ == "__main__":  # pragma: no cover - maintenance tool
    src = Path(sys.argv[1])
    TEMPLATE_PATH.write_text(json.dumps(extract_structure(src), indent=1), encoding="utf-8")
    print(f"wrote {TEMPLATE_PATH} from {src}")
