"""The ``.env`` file ragd reads at start, beside the environment (docs/configuration.md, ".env files").

* **Which file**: ``RAGD_ENV_FILE`` names it (``ragd --env-file PATH`` sets it; a named file must exist; empty:
  no file); unset, ``.env`` in the working directory when there is one.
* **Keys**: the names of the environment variables (``RAGD_SERVER__PORT=8080``). Keys without the ``RAGD_``
  prefix are ignored, so one file can also serve Docker Compose or other tools (``POSTGRES_PASSWORD=…``); an
  unknown ``RAGD_`` key is an error, as a typo should be.
* **Precedence**: arguments (the command line's flags) beat the environment, which beats the file, which beats
  the defaults: a container's ``-e`` or a systemd ``Environment=`` overrides a value the file also sets.
* **Secrets**: values are never logged nor echoed in an error (``hide_input_in_errors``). A file that other users
  may read, or that anyone but its owner may change, gets a warning (once per process): ``chmod 600``.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from pydantic_settings import BaseSettings, DotEnvSettingsSource, PydanticBaseSettingsSource, SettingsError

ENV_FILE_VARIABLE = "RAGD_ENV_FILE"
DEFAULT_ENV_FILE = Path(".env")

log = logging.getLogger("ragd.config")
_warned: set[Path] = set()


def env_file() -> Path | None:
    """The ``.env`` file this process reads, or ``None``; a :class:`SettingsError` when ``RAGD_ENV_FILE`` names a
    file that is not there or cannot be read."""
    named = os.environ.get(ENV_FILE_VARIABLE)
    if named is None:
        path = DEFAULT_ENV_FILE
        if not path.is_file():
            return None
    elif not named.strip():
        return None
    else:
        path = Path(named).expanduser()
        if not path.is_file():
            raise SettingsError(f"{ENV_FILE_VARIABLE}={named}: no such file")
    if not os.access(path, os.R_OK):
        raise SettingsError(f"the settings file {str(path.absolute())!r} is not readable by this process "
                            f"(user id {os.getuid()})")
    return path


def use_env_file(path: Path) -> None:
    """``ragd --env-file PATH``: read PATH instead of ``./.env``, in this process and in the processes it starts
    (server workers inherit the variable)."""
    if not path.is_file():
        raise SettingsError(f"--env-file {path}: no such file")
    os.environ[ENV_FILE_VARIABLE] = str(path.resolve())


def _warn_if_shared(path: Path) -> None:
    resolved = path.resolve()
    if resolved in _warned:
        return
    _warned.add(resolved)
    mode = resolved.stat().st_mode
    if mode & (stat.S_IRWXO | stat.S_IWGRP):
        log.warning("the settings file %s may hold secrets and is %s by other users (mode %s): chmod 600 %s",
                    resolved, "readable" if mode & stat.S_IROTH else "writable", oct(stat.S_IMODE(mode)), resolved)


def dotenv_source(settings_cls: type[BaseSettings], given: PydanticBaseSettingsSource) -> PydanticBaseSettingsSource:
    """The source reading :func:`env_file` (``given`` itself when the caller named a file: ``Settings(_env_file=…)``,
    or when there is no file to read)."""
    if isinstance(given, DotEnvSettingsSource) and given.env_file is not None:
        return given
    path = env_file()
    if path is None:
        return given
    _warn_if_shared(path)
    return DotEnvSettingsSource(settings_cls, env_file=path)
