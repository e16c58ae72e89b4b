from __future__ import annotations

import warnings

import pytest


@pytest.fixture(autouse=True)
def _quiet_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Could not parse bucket", category=UserWarning)
        yield
