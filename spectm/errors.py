"""One small exception hierarchy for spectm.

Every error carries the *cause* and the *remedy* so the CLI can print a single
actionable line (torchgeo-style "DatasetNotFoundError: ... pass download=True").
The CLI maps ``exit_code`` to the process exit status: 2 for anything the user
can fix by changing their input, 1 for failures of the work itself.
"""

from __future__ import annotations


class SpectmError(Exception):
    """Base class of every error spectm raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, remedy: str | None = None) -> None:
        self.message = message
        self.remedy = remedy
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.remedy:
            return f"{self.message} — {self.remedy}"
        return self.message


class BadInputError(SpectmError):
    """The user gave something spectm cannot use (a value, a file, a config)."""

    exit_code = 2


class ConfigError(BadInputError):
    """A YAML config or catalog file is malformed or has an unknown key."""


class RegionError(BadInputError):
    """A ``--bbox`` value, region name or GeoJSON file is invalid."""


class DateRangeError(BadInputError):
    """A ``--dates`` value is invalid."""


class DataNotFoundError(BadInputError):
    """An input a stage needs is missing (run the earlier stage first)."""


class SchemaError(BadInputError):
    """A CSV or data file does not have the columns spectm expects."""


class AuthError(BadInputError):
    """Earthdata (or another service) login is missing or was refused."""


class FetchError(SpectmError):
    """Some downloads failed; the manifest lists which and why."""


class StageError(SpectmError):
    """A processing stage could not finish (the message says where it stopped)."""


class LockedError(SpectmError):
    """Another spectm process holds the lock on an output."""

    exit_code = 3
