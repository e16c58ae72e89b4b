"""Detection limits for cells that say ``bdl`` without a number.

GLERL wrote ``<0.1`` for microcystin until 2022 and ``bdl`` from 2022 (phycocyanin) and
2024 (microcystin, phycocyanin). A censored value needs its limit, so:

* **Microcystin (particulate and dissolved): 0.1 µg/L**, fixed. GLERL's ELISA reporting
  limit: every 2012–2022 censored microcystin cell is ``<0.1`` and the GLERL web page
  defines "Non-Detectable" as < 0.1 µg/L (docs/glerl.md § Tokens, detection limits and dirty values).
* **Every other variable (phycocyanin in 2022 and 2024, ...): the smallest detected value
  of that variable in the same file.** The phycocyanin limit varies by extraction volume
  and dilution (``<0.03`` … ``<40`` in 2012–2021), so no single number is right. If one limit
  applied to a season, it is at most the smallest value the lab reported as detected that
  season, so that value is the tightest upper bound the data supports — and an upper bound
  is what a censored (Tobit) fit needs. The bundled files give PC 0.02 µg/L (2022) and
  0.01 µg/L (2024); the value used is written per file to ``ingest_report.json``
  (``bdl_lods``).
* A user's column map can set any limit explicitly (``bdl_lod:``, in the column's own
  unit), which wins; for user files the fixed microcystin limit is not assumed (their lab
  may differ), so without ``bdl_lod`` the smallest-detected rule applies.
"""

from __future__ import annotations

FIXED_BDL_LOD: dict[str, float] = {"pmc_ugL": 0.1, "dmc_ugL": 0.1}
