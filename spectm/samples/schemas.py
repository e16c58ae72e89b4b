"""The GLERL schema families as explicit header alias tables, and schema detection.

GLERL has renamed its columns three times (2012–19 long English headers, 2020–22
snake_case, 2024– "Datashare"), and a public 2024 loader broke on exactly such a rename
(it expected ``Particulate_MC_ugL-1``). So headers are matched against an explicit table:
every header of a file must be known to one family (used or knowingly ignored), and a
file with an unknown or missing header fails loudly with a :class:`SchemaError` naming
the headers and the remedy, instead of silently losing a column.

Headers are compared after Unicode NFKC normalisation and stripping surrounding
whitespace (schema A's CDOM header ends in a space; latin-1 ``µ`` is U+00B5, which NFKC
folds to U+03BC like a typed Greek mu).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from spectm.errors import SchemaError

# Output variables: name -> (description, unit). Every one also gets <name>_censored and
# <name>_lod columns in samples.parquet, so the table has one uniform layout.
VARIABLES: dict[str, tuple[str, str]] = {
    "pmc_ugL": ("particulate microcystin (ELISA, congener-independent)", "µg/L"),
    "dmc_ugL": ("dissolved microcystin (ELISA)", "µg/L"),
    "chla_ugL": ("extracted chlorophyll a", "µg/L"),
    "pc_ugL": ("extracted phycocyanin", "µg/L"),
    "secchi_m": ("Secchi depth", "m"),
    "turbidity_ntu": ("turbidity", "NTU"),
    "water_temp_c": (
        "water temperature (CTD; 2012 sample thermometer where the CTD is blank)",
        "°C",
    ),
    "cdom_a400_m1": ("CDOM absorption coefficient at 400 nm", "1/m"),
    "tss_mgL": ("total suspended solids", "mg/L"),
    "vss_mgL": ("volatile suspended solids", "mg/L"),
    "poc_mgL": ("particulate organic carbon", "mg/L"),
    "beam_atten_m1": ("CTD beam attenuation (transmissometer, 660 nm)", "1/m"),
    "wind_speed_ms": ("wind speed", "m/s"),
}

# Fields every input must provide a column for (cells may still be blank).
REQUIRED = ("date", "time", "site", "depth_category", "lat", "lon")

KNOTS_TO_MS = 0.514444


def norm_header(h: str) -> str:
    return unicodedata.normalize("NFKC", str(h)).strip()


@dataclass(frozen=True)
class Family:
    """One schema family: canonical field -> accepted header spellings (aliases).

    ``ignored`` are headers known to the family but not carried into samples.parquet
    (nutrients, DO, gene copies, ...); they are listed in the ingest report. ``convert``
    maps a variable to a function applied to its values and detection limits (units).
    """

    name: str
    title: str
    fields: dict[str, tuple[str, ...]]
    ignored: tuple[str, ...] = ()
    convert: dict[str, Callable[[float], float]] = field(default_factory=dict)
    # variables whose header is known but whose unit the publisher does not state:
    # known, counted, not carried (see docs/samples.md).
    unit_unknown: tuple[str, ...] = ()

    def known(self) -> set[str]:
        out = {norm_header(a) for aliases in self.fields.values() for a in aliases}
        return out | {norm_header(h) for h in self.ignored}


def _knots(v: float) -> float:
    return v * KNOTS_TO_MS


FAMILY_A = Family(
    name="A",
    title="GLERL 2012–2019 (long English headers, latin-1)",
    fields={
        "date": ("Date",),
        "time": ("Local Time (Eastern Time Zone)",),
        "site": ("Site",),
        "depth_category": ("Sample Depth (category)",),
        "lat": ("Latitude (decimal deg)",),
        "lon": ("Longitude (decimal deg)",),
        "station_depth_m": ("Station Depth (m)",),
        "sample_depth_m": ("Sample Depth (m)",),
        "pmc_ugL": ("Particulate Microcystin (µg/L)",),
        "dmc_ugL": ("Dissolved Microcystin (µg/L)",),
        "chla_ugL": ("Extracted Chlorophyll a (µg/L)",),
        "pc_ugL": ("Extracted Phycocyanin (µg/L)",),
        "secchi_m": ("Secchi Depth (m)",),
        "turbidity_ntu": ("Turbidity (NTU)",),
        "water_temp_c": ("CTD Temperature (°C)",),
        "sample_temp_c": ("Sample Temperature (°C)",),
        "cdom_a400_m1": ("Colored Dissolved Organic Material absorbance (m-1) at 400nm",),
        "tss_mgL": ("Total Suspended Solids (mg/L)",),
        "vss_mgL": ("Volatile Suspended Solids (mg/L)",),
        "poc_mgL": ("Particulate Organic Carbon (mg/L)",),
        "beam_atten_m1": ("CTD Beam Attenuation (m-1)",),
        "wind_speed_ms": ("Wind speed (knots)",),
    },
    ignored=(
        "Wave Height (ft)",
        "Sky",
        "CTD Specific Conductivity (µS/cm)",
        "CTD Tramission (%)",
        "CTD Transmission (%)",
        "CTD Dissolved Oxygen (mg/L)",
        "CTD Photosynthetically Active Radiation (µE/m2/s)",
        "Total Phosphorus (µg P/L)",
        "Total Dissolved Phosphorus (µg P/L)",
        "Soluble Reactive Phosphorus (µg P/L)",
        "Ammonia (µg N/L)",
        "Nitrate + Nitrite (mg N/L)",
        "Urea (µg N/L)",
        "Particulate Organic Nitrogen (mg/L)",
        "Dissolved Organic Carbon (mg/L)",
    ),
    convert={"wind_speed_ms": _knots},
)

FAMILY_B = Family(
    name="B",
    title="GLERL 2020–2022 (snake_case; transects with sample_id)",
    fields={
        "date": ("date",),
        "time": ("time",),
        "site": ("station_name", "sample_id"),
        "depth_category": ("sample_depth_category",),
        "lat": ("lat",),
        "lon": ("lon",),
        "station_depth_m": ("station_depth_m",),
        "sample_depth_m": ("sample_depth_m",),
        "pmc_ugL": ("particulate_microcystin",),
        "dmc_ugL": ("dissolved_microcystin",),
        "chla_ugL": ("extracted_chla",),
        "pc_ugL": ("extracted_phycocyanin",),
        "secchi_m": ("secchi_depth",),
        "turbidity_ntu": ("turbidity",),
        "water_temp_c": ("ctd_temp",),
        "cdom_a400_m1": ("cdom",),
        "tss_mgL": ("tss",),
        "vss_mgL": ("vss",),
        "poc_mgL": ("particulate_organic_c",),
        "beam_atten_m1": ("ctd_beam_attenuation",),
        "wind_speed_ms": ("wind_speed",),
    },
    ignored=(
        "wave_height",
        "sky",
        "ctd_specific_conductivity",
        "ctd_transmission",
        "ctd_dissolved_oxygen",
        "ctd_par",
        "total_cyano_genes",
        "mcye_genes",
        "total_p",
        "total_dissolved_p",
        "soluble_reactive_p",
        "ammonia",
        "nitrate_nitrite",
        "particulate_organic_n",
    ),
    # GLERL's 2020–22 files do not state the wind unit (knots before, m/s after): the
    # column is recognised and counted, but not carried rather than guessed.
    unit_unknown=("wind_speed_ms",),
)

FAMILY_C = Family(
    name="C",
    title="GLERL 2024– 'Datashare' (unit-suffixed headers)",
    fields={
        "date": ("Date",),
        "time": ("Arrival_Time",),
        "site": ("Site",),
        "depth_category": ("Sample_Depth_category",),
        "lat": ("Lat_deg", "Lat_degree"),
        "lon": ("Long_deg", "Long_degree"),
        "station_depth_m": ("Station_Depth_m",),
        "sample_depth_m": ("Sample_Depth_m",),
        "pmc_ugL": ("Particulate_Microcystin_ugL-1",),
        "dmc_ugL": ("Dissolved_Microcystin_ugL-1",),
        "chla_ugL": ("Extracted_CHLa_ugL-1",),
        "pc_ugL": ("Extracted_PC_ugL-1",),
        "secchi_m": ("Secchi_Depth_m",),
        "turbidity_ntu": ("Turbidity_NTU",),
        "water_temp_c": ("Temp_C",),
        "beam_atten_m1": ("BeamAtten_m-1",),
        "wind_speed_ms": ("Wind_speed_ms-1",),
    },
    ignored=(
        "Departure_Time",
        "Sky",
        "SpCond_uScm-1",
        "Transmiss_pct",
        "DO_mgL-1",
        "PAR_uEcm-2s-1",
        "Total_cyanobacteria_genes_copiesmL-1",
        "mycE_genes_copiesmL-1",
        "mcyE_genes_copiesmL-1",
    ),
)

FAMILIES: tuple[Family, ...] = (FAMILY_A, FAMILY_B, FAMILY_C)


@dataclass(frozen=True)
class Detected:
    """A family matched to one file: canonical field -> the file's actual header."""

    family: Family
    columns: dict[str, str]
    ignored: tuple[str, ...]


def _match(family: Family, headers: Sequence[str]) -> tuple[dict[str, str], set[str]]:
    by_norm = {norm_header(h): h for h in headers}
    cols: dict[str, str] = {}
    for fld, aliases in family.fields.items():
        for a in aliases:
            if norm_header(a) in by_norm:
                cols[fld] = by_norm[norm_header(a)]
                break
    unknown = set(by_norm) - family.known()
    return cols, unknown


def detect_schema(headers: Sequence[str], path: Path | str) -> Detected:
    """Pick the family that knows every header of ``path``; otherwise raise SchemaError."""
    name = Path(path).name
    dupes = sorted({h for h in headers if list(headers).count(h) > 1})
    if dupes:
        raise SchemaError(f"{name}: duplicate column header(s) {dupes}", "give every column a distinct name")
    best: tuple[int, Family, dict[str, str], set[str]] | None = None
    for fam in FAMILIES:
        cols, unknown = _match(fam, headers)
        if all(r in cols for r in REQUIRED) and not unknown:
            ignored = tuple(h for h in headers if norm_header(h) in {norm_header(x) for x in fam.ignored})
            return Detected(fam, cols, ignored)
        score = len(cols) - len(unknown)
        if best is None or score > best[0]:
            best = (score, fam, cols, unknown)
    assert best is not None
    _, fam, cols, unknown = best
    missing = [fam.fields[r][0] for r in REQUIRED if r not in cols]
    parts = []
    if unknown:
        parts.append(f"unknown header(s) {sorted(unknown)}")
    if missing:
        parts.append(f"missing header(s) {missing}")
    raise SchemaError(
        f"{name}: not a known GLERL layout (closest: schema {fam.name}, {fam.title}): " + "; ".join(parts),
        "if this is your own CSV, describe its columns in a column-map YAML and pass "
        "--column-map (see docs/samples.md); if GLERL renamed a column, add the new spelling "
        "to spectm/samples/schemas.py",
    )
