"""``join --dry-run``: the plan agrees with the join it predicts and writes nothing."""

from __future__ import annotations

from collections import Counter

from spectm.cli import main
from spectm.join import join, load_unmatched
from spectm.join.plan import plan_join

from .test_matchup import scene  # noqa: F401  (the hand-built cube with every unmatched reason)

PIXEL_REASONS = {"cloud", "too_few_valid"}


def test_plan_bounds_the_join_and_names_the_same_reasons(scene):  # noqa: F811
    plan = plan_join("m", data_dir=scene, unlabeled_per_date=0)
    assert not (scene / "features" / "m").exists() and plan.store_status == "new"
    assert plan.samples == 11 and plan.filtered == {"depth_scum": 1} and plan.cube_slices == 5
    res = join("m", data_dir=scene, unlabeled_per_date=0)
    un = load_unmatched(scene, "m")
    for hz in ("current", "ahead"):
        real = Counter(un.loc[un.horizon == hz, "reason"])
        matched = res.manifest["counts"]["horizons"][hz]["matched"]
        # candidates = matched + those only the pixel check rejects; other reasons are exact
        assert plan.candidates[hz] == matched + sum(real[r] for r in PIXEL_REASONS)
        assert plan.reasons[hz] == {k: v for k, v in sorted(real.items()) if k not in PIXEL_REASONS}
    assert plan_join("m", data_dir=scene, unlabeled_per_date=0).store_status.startswith("up to date")
    assert plan_join("m", data_dir=scene, unlabeled_per_date=0, pixel_window=1).store_status.startswith("refused")
    assert "replaced" in plan_join("m", data_dir=scene, force=True, unlabeled_per_date=0, pixel_window=1).store_status


def test_cli_join_dry_run_writes_nothing(scene, capsys):  # noqa: F811
    try:
        main(["--data-dir", str(scene), "join", "--name", "dry", "--dry-run"])
    except SystemExit as exc:
        assert not exc.code
    out = capsys.readouterr().out
    assert "nothing written" in out and "match-up candidates" in out
    assert not (scene / "features" / "dry").exists() and not (scene / "features" / ".dry.partial").exists()
