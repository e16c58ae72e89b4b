"""Pretraining variants of the ablation: the pipeline's ``pretrain:`` with masking / tasks changed.

A variant is one cell of masking strategy × pretraining tasks × pretraining seed. Its pretraining
section is a copy of the pipeline's with ``seed`` set to the variant's encoder seed,
``masking.strategies`` set to the cell's strategies (the ablation's names ``laprade`` and
``sigmae`` stand for ``spatial-spectral`` and ``index-guided``; a random cell hides
``evaluate.ablation.random_ratio`` of the tokens, by default as many as the targeted mask), the loss weight of
every task *not* in the cell set to 0 (a task in the cell keeps the pipeline's weight, or the
default weight when the pipeline had set it to 0), and the run shortened to
``evaluate.ablation.max_steps`` / ``epochs``. All variants share that budget, so the cells
differ only in masking and tasks. ``evaluate.ablation.model``, when set, replaces ``pretrain.model`` in
every variant (one size and token layout for all cells, e.g. several spatial patches of grouped bands).

Variant runs are ordinary pretraining runs (``spectm.pretrain.pretrain_run``) with deterministic
ids ``<pipeline>-ablation-<key>`` (key: the variant's section + the chips' fingerprint), so
they are reused when complete, resumed from their last checkpoint when interrupted, and never
mistaken for the pipeline's own ``<pipeline>-pretrain-`` run by the regress stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spectm.config import MASKING_ALIASES, EvaluateAblation, Pipeline, PretrainLoss, PretrainSection
from spectm.config import PRETRAIN_TASKS as TASK_WEIGHTS


@dataclass(frozen=True)
class Variant:
    masking: str  # as named in the ablation (aliases kept: the tables show these names), joined by "+"
    tasks: str  # tasks joined by "+", in the order rec, idx, fut
    seed: int = 0  # the pretraining seed

    @property
    def strategies(self) -> str:
        """The pretraining strategies (aliases resolved), joined by "+": what the encoder's config reports."""
        return "+".join(MASKING_ALIASES.get(m, m) for m in self.masking.split("+"))

    @property
    def slug(self) -> str:
        return f"{self.masking}_{self.tasks}".replace("+", "-") + (f"_e{self.seed}" if self.seed else "")


def canonical_tasks(tasks: str) -> str:
    parts = set(tasks.split("+"))
    return "+".join(t for t in TASK_WEIGHTS if t in parts)


def variants(ab: EvaluateAblation) -> list[Variant]:
    """Every masking × tasks × encoder seed cell, in the configured order (duplicates removed)."""
    cells = [Variant(m, canonical_tasks(t), e) for e in ab.encoder_seeds for t in ab.tasks for m in ab.masking]
    return list(dict.fromkeys(cells))


def variant_section(base: PretrainSection, v: Variant, ab: EvaluateAblation) -> PretrainSection:
    """The pretraining section of one variant (a validated copy; ``base`` is not changed)."""
    data = base.model_dump(mode="json")
    data["masking"]["strategies"] = v.strategies.split("+")
    data["seed"] = v.seed
    if "random" in data["masking"]["strategies"]:
        data["masking"]["random"]["ratio"] = ab.random_ratio  # one ratio for every cell (docs/evaluate.md)
    defaults = PretrainLoss()
    tasks = set(v.tasks.split("+"))
    for task, key in TASK_WEIGHTS.items():
        if task not in tasks:
            data["loss"][key] = 0.0
        elif data["loss"][key] <= 0:
            data["loss"][key] = getattr(defaults, key)
    if ab.model is not None:  # one model for every cell (docs/evaluate.md)
        data["model"] = ab.model.model_dump(mode="json")
    if ab.max_steps is not None:
        data["max_steps"] = ab.max_steps
    if ab.epochs is not None:
        data["epochs"] = ab.epochs
    return PretrainSection.model_validate(data)


def variant_run_id(pipeline: Pipeline, section: PretrainSection, data_dir: Path) -> str:
    from spectm.pretrain.run import pretrain_run_id

    return pretrain_run_id(section, data_dir, pipeline.name, "ablation")


def ensure_variant(pipeline: Pipeline, v: Variant, data_dir: Path) -> tuple[Path, bool]:
    """The variant's complete run directory, pretraining (or resuming) it if needed.

    Returns (run dir, reused) — ``reused`` is True when the run was already complete.
    """
    from spectm.pretrain.run import pretrain_run

    section = variant_section(pipeline.pretrain, v, pipeline.evaluate.ablation)
    res = pretrain_run(
        section, data_dir=data_dir, run_id=variant_run_id(pipeline, section, data_dir), pipeline=pipeline, reuse=True
    )
    return res.run_dir, res.skipped
