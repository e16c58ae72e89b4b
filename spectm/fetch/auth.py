"""Earthdata login, hidden behind one function so tests can replace it.

spectm logs in with earthaccess's ``environment`` strategy, then ``netrc`` — never
``interactive``: ``strategy="all"`` falls through to ``input()`` when nothing is set,
which hangs a batch job or CI without a TTY (docs/pace.md § Search: CMR and earthaccess).

It uses earthaccess's :class:`earthaccess.Auth` directly rather than
``earthaccess.login()``: ``login()`` also builds a ``Store``, which GETs the URS
profile and probes the AWS instance-metadata address 169.254.169.254 to guess the
region (earthaccess#231). spectm downloads over HTTPS only, so it needs just the
token, and ``Auth.get_session()`` gives a ``requests`` session carrying
``Authorization: Bearer`` (plus EDL's redirect-safe basic auth when a password was
used).

The token lives only in that session's headers: spectm never logs headers, and
writes URLs only through :func:`spectm.redact.redact`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import requests

from spectm.errors import AuthError

_REMEDY = (
    "set EARTHDATA_TOKEN, or EARTHDATA_USERNAME and EARTHDATA_PASSWORD, or add "
    "'machine urs.earthdata.nasa.gov login <user> password <pass>' to ~/.netrc "
    "(free account: https://urs.earthdata.nasa.gov)"
)

STRATEGIES = ("environment", "netrc")


def earthdata_session_factory() -> Callable[[], requests.Session]:
    """Log in to NASA Earthdata once and return a factory of authenticated sessions.

    Raises :class:`~spectm.errors.AuthError` naming what to set when no credentials are
    found, or when Earthdata Login refuses them.
    """
    from earthaccess.auth import Auth
    from earthaccess.exceptions import LoginAttemptFailure, LoginStrategyUnavailable

    auth = Auth()
    tried: list[str] = []
    for strategy in STRATEGIES:
        try:
            auth.login(strategy=strategy)
        except LoginStrategyUnavailable as exc:
            tried.append(f"{strategy}: {exc}")
            continue
        except LoginAttemptFailure:
            # The exception text holds the server's reply; keep it out of our message.
            raise AuthError(
                f"Earthdata Login refused the credentials from the '{strategy}' strategy", _REMEDY
            ) from None
        except FileNotFoundError as exc:  # netrc file named by $NETRC is missing
            tried.append(f"{strategy}: {exc.strerror}")
            continue
        except requests.RequestException as exc:
            raise AuthError(
                f"could not reach Earthdata Login ({type(exc).__name__})",
                "check the network connection to urs.earthdata.nasa.gov and retry",
            ) from None
        if auth.authenticated:
            return auth.get_session
    netrc = os.environ.get("NETRC", "~/.netrc")
    raise AuthError(
        f"no Earthdata credentials found (looked at EARTHDATA_TOKEN, EARTHDATA_USERNAME/EARTHDATA_PASSWORD and {netrc})",
        _REMEDY,
    )
