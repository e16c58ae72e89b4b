"""Splits: block and station assignment, and the buffer rule that keeps leaks out of training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spectm.errors import BadInputError
from spectm.join import find_leaks, join, load_chips, load_matchups
from spectm.join.show import chip_leaks
from spectm.join.splits import (
    Items,
    day_splits,
    exclude_leaks,
    period_bounds,
    period_split,
    resolve_split,
    season_fold_splits,
    season_roles,
    station_assignment,
    time_split,
)
from spectm.join.window import Grid

from .helpers import CubeSpec, X, Y, base_rrs, write_cube, write_samples


def _day(s: str) -> int:
    return int(np.datetime64(s, "D").astype(np.int64))


def test_time_blocks_follow_the_pattern_from_jan_1():
    days = [
        _day("2024-01-01"),
        _day("2024-01-15"),
        _day("2024-01-29"),
        _day("2024-02-12"),
        _day("2024-02-26"),
        _day("2024-03-11"),
    ]
    assert time_split(np.array(days), 14).tolist() == ["train", "train", "val", "train", "test", "train"]
    seasons = np.array([_day("2021-07-01"), _day("2022-07-01"), _day("2023-07-01"), _day("2024-07-01")])
    assert time_split(seasons, 0).tolist() == ["train", "train", "val", "test"]
    with pytest.raises(BadInputError):
        time_split(np.array([_day("2024-07-01")]), 0)


def test_period_split_is_contiguous_per_season():
    # ten weekly sampling days in 2024, five in 2023: 60/20/20 of each season's sampling days
    d24 = [_day("2024-06-03") + 7 * i for i in range(10)]
    d23 = [_day("2023-06-05") + 7 * i for i in range(5)]
    bounds = period_bounds(np.array(d24 + d23), (0.6, 0.2, 0.2))
    assert bounds[2024] == (d24[6], d24[8]) and bounds[2023] == (d23[3], d23[4])
    got = period_split(np.array(d24), bounds).tolist()
    assert got == ["train"] * 6 + ["val"] * 2 + ["test"] * 2
    assert period_split(np.array(d23), bounds).tolist() == ["train"] * 3 + ["val", "test"]
    # days between sampling days follow the period they fall in; a year without samples is train
    assert period_split(np.array([d24[6] - 1, d24[8] + 30, _day("2022-07-01")]), bounds).tolist() == [
        "train",
        "test",
        "train",
    ]
    # a season with fewer than three sampling days stays in train
    short = period_bounds(np.array(d24[:2]), (0.6, 0.2, 0.2))
    assert set(period_split(np.array(d24[:2]), short).tolist()) == {"train"}


def test_period_fractions_are_validated():
    from pydantic import ValidationError

    from spectm.config import JoinSection

    with pytest.raises(ValidationError):
        JoinSection(period_fractions=(0.5, 0.5, 0.5))
    assert JoinSection().split == "auto"


def test_station_assignment_named_and_seeded():
    st = ["WE2", "WE4", "WE6", "WE8", "WE9", "WE12", "WE13", "WE16"]
    named = station_assignment(st, ["WE12"], ["WE4"], 0)
    assert named["WE12"] == "test" and named["WE4"] == "val" and named["WE2"] == "train"
    a, b = station_assignment(st, [], [], 1), station_assignment(st, [], [], 1)
    assert a == b and sorted(a.values()).count("test") == 2 and sorted(a.values()).count("val") == 2
    with pytest.raises(BadInputError):
        station_assignment(st, ["WE99"], [], 0)
    with pytest.raises(BadInputError):
        station_assignment(["WE2", "WE4"], [], [], 0)


def test_buffer_rule_removes_every_leak():
    # boxes (xmin, ymin, xmax, ymax), days; a train chip overlapping a test chip on the same day,
    # a train chip 1.5 km away one day later (inside a 2 km / 2 day buffer), and a far one.
    boxes = np.array(
        [
            [0, 0, 8000, 8000],
            [4000, 4000, 12000, 12000],
            [9500, 0, 17500, 8000],
            [40000, 0, 48000, 8000],
            [0, 0, 8000, 8000],
        ],
        float,
    )
    t0 = np.array([10, 10, 11, 10, 30])
    items = Items.build(boxes, t0, t0, np.array(["test", "train", "train", "train", "train"]))
    assert find_leaks(items) == [(0, 1)]  # pixel overlap on a shared day
    assert (0, 2) in find_leaks(items, 2000.0, 2.0)
    excl = exclude_leaks(items, 2000.0, 2.0)
    assert excl.tolist() == [False, True, True, False, False]
    keep = ~excl
    kept = Items.build(boxes[keep], t0[keep], t0[keep], np.array(["test", "train", "train"]))
    assert find_leaks(kept, 2000.0, 2.0) == []
    # adjacent tiles (shared edge) do not overlap
    adj = Items.build(
        np.array([[0, 0, 8, 8], [8, 0, 16, 8]], float), np.array([1, 1]), np.array([1, 1]), np.array(["train", "test"])
    )
    assert find_leaks(adj) == []


def test_station_split_store_has_no_leaks(tiny):
    # four stations 3-4 km apart sampled on the same days: chips of 8 km overlap across stations
    rows = []
    for st, cell in (("WE2", (3, 3)), ("WE4", (3, 8)), ("WE6", (8, 3)), ("WE8", (8, 8))):
        for d in ("2024-08-02", "2024-08-04"):
            rows.append({"station": st, "cell": cell, "date": d, "sample_id": f"{st}_{d}"})
    write_samples(tiny, rows)
    res = join(
        "st",
        data_dir=tiny,
        split="station",
        test_stations=["WE8"],
        val_stations=["WE2"],
        unlabeled_per_date=4,
        chip_size=4,
    )
    m = load_matchups(tiny, "st")
    assert set(m.loc[m["station"] == "WE8", "split"]) == {"test"}
    ch = load_chips(tiny, "st")
    splits = [str(s) for s in ch["split"].values.tolist()]
    assert "test" in splits and "train" in splits
    assert chip_leaks(tiny, "st") == []
    assert (
        res.manifest["counts"]["chips"]["excluded_leak"]["unlabeled"]
        + res.manifest["counts"]["chips"]["excluded_leak"]["matchup"]
        > 0
    )
    # chip ids are unique: no chip is in two splits
    ids = [str(s) for s in ch["chip"].values.tolist()]
    assert len(ids) == len(set(ids))


def test_without_the_buffer_rule_leaks_would_exist(tiny):
    """Guard that the leak check can fail: the three chips as cut, with their sample splits, leak;
    the stored ones do not, because the train and val chips were excluded."""
    cells = {"WE2": (4, 4), "WE4": (4, 7), "WE6": (7, 4)}
    write_samples(tiny, [{"station": st, "cell": c, "date": "2024-08-03", "sample_id": st} for st, c in cells.items()])
    res = join(
        "nb",
        data_dir=tiny,
        split="station",
        test_stations=["WE4"],
        val_stations=["WE6"],
        unlabeled_per_date=0,
        chip_size=6,
        buffer_km=0,
    )
    grid = Grid(X, Y)
    boxes = []
    for r, c in cells.values():
        r0, c0 = grid.chip_origin(r, c, 6)
        x0, y0 = grid.corner(r0, c0)
        boxes.append([x0, y0 - 6000, x0 + 6000, y0])
    day = np.array([_day("2024-08-03")] * 3)
    as_cut = Items.build(np.array(boxes), day, day, np.array(["train", "test", "val"]))
    assert len(find_leaks(as_cut)) == 3
    m = res.matchups.set_index("station")
    assert m.loc["WE4", "chip_status"] == "ok"
    assert m.loc["WE2", "chip_status"] == m.loc["WE6", "chip_status"] == "excluded_leak"
    # WE2's 3x3 window (cols 3-5) shares pixels with the test chip (cols 4-9) on the same day
    assert m.loc["WE2", "split"] == "excluded" and m.loc["WE4", "split"] == "test"
    assert [str(s) for s in load_chips(tiny, "nb")["split"].values.tolist()] == ["test"]
    assert chip_leaks(tiny, "nb") == []


def test_auto_is_season_from_three_seasons_else_period():
    one = np.array([_day("2024-07-01"), _day("2024-08-01")])
    two = np.array([_day("2023-07-01"), _day("2024-07-01")])
    three = np.array([_day("2022-07-01"), _day("2023-07-01"), _day("2024-07-01")])
    assert resolve_split("auto", one) == resolve_split("auto", two) == "period"
    assert resolve_split("auto", three) == "season"
    assert resolve_split("period", three) == "period"


def test_season_roles_default_and_named():
    days = np.array([_day(f"{y}-07-01") for y in range(2012, 2025) if y != 2023])  # 2012-2022, 2024
    roles = season_roles(days)
    assert roles[2024] == "test" and roles[2022] == "val"
    assert [y for y, r in roles.items() if r == "train"] == list(range(2012, 2022))
    named = season_roles(days, val_seasons=[2021], test_seasons=[2022, 2024])
    assert named[2021] == "val" and named[2022] == named[2024] == "test" and named[2020] == "train"
    only_val = season_roles(days, val_seasons=[2015])
    assert only_val[2015] == "val" and only_val[2024] == "test" and only_val[2022] == "train"
    with pytest.raises(BadInputError, match="no samples"):
        season_roles(days, test_seasons=[2023])
    with pytest.raises(BadInputError, match="both test and val"):
        season_roles(days, val_seasons=[2024], test_seasons=[2024])
    with pytest.raises(BadInputError, match="≥ 3 seasons"):
        season_roles(days[-2:])
    # unlabeled days follow their season; a season without samples is train
    got = day_splits(np.array([_day("2024-10-30"), _day("2022-05-01"), _day("2010-07-01")]), days, "auto")
    assert got.tolist() == ["test", "val", "train"]


def test_season_fold_holds_one_season_out_and_keeps_the_buffer():
    dates = np.array(
        ["2021-12-31", "2022-01-02", "2022-07-01", "2023-07-01", "2024-07-01", "2024-01-10"], dtype="datetime64[D]"
    )
    f22 = season_fold_splits(dates, 2022, buffer_days=2)
    # 2021-12-31 is two days from a held-out row: excluded; val is the latest other season
    assert f22.tolist() == ["excluded", "test", "test", "train", "val", "val"]
    f24 = season_fold_splits(dates, 2024, buffer_days=0)
    assert f24.tolist() == ["train", "train", "train", "val", "test", "test"]
    with pytest.raises(BadInputError):
        season_fold_splits(dates, 2019)
    with pytest.raises(BadInputError, match="≥ 3 seasons"):
        season_fold_splits(dates[2:4], 2022)


def test_three_season_store_is_split_by_season(data_dir):
    days = [f"{y}-08-0{d}" for y in (2022, 2023, 2024) for d in (2, 3, 4)]
    write_cube(data_dir, CubeSpec(days=days, rrs=base_rrs(len(days))))
    write_samples(
        data_dir,
        [
            {"station": st, "cell": cell, "date": d, "sample_id": f"{st}_{d}"}
            for st, cell in (("WE2", (3, 3)), ("WE8", (8, 8)))
            for d in days[1::3]
        ],
    )
    res = join("seasons", data_dir=data_dir, unlabeled_per_date=2, chip_size=4)
    m = load_matchups(data_dir, "seasons")
    year = pd.to_datetime(m["date"]).dt.year
    assert set(m.loc[year == 2024, "split"]) == {"test"}
    assert set(m.loc[year == 2023, "split"]) == {"val"}
    assert set(m.loc[year == 2022, "split"]) == {"train"}
    assert res.manifest["split_method"] == "season"
    assert chip_leaks(data_dir, "seasons") == []
    named = join(
        "named",
        data_dir=data_dir,
        unlabeled_per_date=0,
        chip_size=4,
        split="season",
        val_seasons=[2022],
        test_seasons=[2023],
    )
    m2 = named.matchups
    y2 = pd.to_datetime(m2["date"]).dt.year
    assert set(m2.loc[y2 == 2023, "split"]) == {"test"} and set(m2.loc[y2 == 2024, "split"]) == {"train"}


def test_station_split_on_a_users_own_sites(tiny):
    """Sites of a user's own CSV (``station_kind == "user"``) are stations for the station split:
    drawn or named like GLERL's (they were left out: 'needs ≥ 3 stations, the samples have 0')."""
    rows = [
        {"station": st, "cell": cell, "date": d, "sample_id": f"{st}_{d}", "station_kind": "user"}
        for st, cell in (("L001", (3, 3)), ("L004", (3, 8)), ("L005", (8, 3)), ("LZ40", (8, 8)))
        for d in ("2024-08-02", "2024-08-04")
    ]
    write_samples(tiny, rows)
    join("drawn", data_dir=tiny, split="station", unlabeled_per_date=0, chip_size=4, buffer_km=0)
    m = load_matchups(tiny, "drawn")
    assert {"test", "val"} <= set(m["split"])
    join("named", data_dir=tiny, split="station", test_stations=["LZ40"], unlabeled_per_date=0, chip_size=4)
    m = load_matchups(tiny, "named")
    assert set(m.loc[m["station"] == "LZ40", "split"]) == {"test"}
