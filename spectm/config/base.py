"""The base of every config model and the YAML loading that turns mistakes into one-line errors.

Every model forbids unknown keys (``extra="forbid"``): a typo in a YAML file is
an error naming the key and the file, never a silently ignored setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from spectm.errors import ConfigError


class Strict(BaseModel):
    """Base model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


M = TypeVar("M", bound=BaseModel)


def _int_as_text(v: Any) -> Any:
    return str(v) if isinstance(v, int) else v


RangeText = Annotated[str, BeforeValidator(_int_as_text)]
"""A dates or months value: text, also when YAML reads it as a number (``dates: 2024``, ``months: 6``)."""


def _format_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<top level>"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key '{loc}'")
        elif err["type"] == "missing":
            parts.append(f"missing key '{loc}'")
        else:
            parts.append(f"'{loc}': {err['msg']}")
    return "; ".join(parts)


def load_yaml(path: Path) -> Any:
    """Read a YAML file, turning I/O and syntax problems into :class:`ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", "check the path") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", "check the file's permissions") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", "fix the YAML syntax") from None


def validate_model(model: type[M], data: Any, path: Path | str) -> M:
    """Validate ``data`` against ``model``; errors name the key and the file."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path} must hold a mapping of keys, found {type(data).__name__}", "see the examples in pipelines/"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"{path}: {_format_validation(exc)}", "fix or remove the key (see the README's configuration section)"
        ) from None
