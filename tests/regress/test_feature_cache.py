"""The frozen-feature cache: the same predictions as encoding afresh, and never a stale encoder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from spectm.config import RegressSection
from spectm.regress import fit_predict, fit_torch

FAST = RegressSection(frozen_steps=60, finetune_epochs=1)


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> fit_torch.FeatureCache:
    cache = fit_torch.FeatureCache()
    monkeypatch.setattr(fit_torch, "FEATURES", cache)
    return cache


def _fit(store: Path, encoder: Path, model: str, seed: int = 0) -> np.ndarray:
    out = fit_predict(store, "default", model=model, horizon="current", seed=seed, encoder=encoder, params=FAST)
    return out["y_pred"].to_numpy()


def test_cached_features_give_the_predictions_of_a_fresh_encoding(
    store_dir: Path, encoder: Path, fresh_cache: fit_torch.FeatureCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _fit(store_dir, encoder, "spectm-frozen", seed=1)
    assert fresh_cache.misses == 3 and fresh_cache.hits == 1  # train, val, test encoded; val reused to predict
    again = _fit(store_dir, encoder, "spectm-frozen", seed=1)
    assert fresh_cache.hits == 5  # every set from the cache the second time
    np.testing.assert_array_equal(first, again)
    monkeypatch.setattr(fit_torch, "FEATURES", fit_torch.FeatureCache(max_entries=0))  # caching off
    np.testing.assert_array_equal(first, _fit(store_dir, encoder, "spectm-frozen", seed=1))


def test_fine_tuning_predicts_with_its_own_encoder_not_the_cached_features(
    store_dir: Path, encoder: Path, fresh_cache: fit_torch.FeatureCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fit(store_dir, encoder, "spectm-frozen")  # fills the cache with the pretrained encoder's features
    warm = _fit(store_dir, encoder, "spectm-finetune")
    monkeypatch.setattr(fit_torch, "FEATURES", fit_torch.FeatureCache(max_entries=0))
    cold = _fit(store_dir, encoder, "spectm-finetune")
    np.testing.assert_array_equal(warm, cold)


def test_a_rewritten_encoder_is_encoded_afresh(
    store_dir: Path, encoder: Path, tmp_path: Path, fresh_cache: fit_torch.FeatureCache
) -> None:
    other = tmp_path / "enc"
    shutil.copytree(encoder, other)
    _fit(store_dir, other, "spectm-frozen")
    misses = fresh_cache.misses
    weights = other / "model.safetensors"
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # the same path, written again
    _fit(store_dir, other, "spectm-frozen")
    assert fresh_cache.misses == misses + 3


def test_the_cache_keeps_only_the_most_recent_entries() -> None:
    import torch

    cache = fit_torch.FeatureCache(max_entries=2)
    for k in ("a", "b", "c"):
        cache.put(k, torch.zeros(1))
    assert cache.get("a") is None and cache.get("b") is not None and cache.get("c") is not None
    cache.put("", torch.zeros(1))  # an unkeyed set is never cached
    assert cache.get("") is None
