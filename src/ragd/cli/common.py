"""Shared CLI plumbing: settings, opening an instance, turning errors into a message and an exit code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape

from ragd.config import Settings, env_file
from ragd.core import Ragd
from ragd.errors import RagdError

console_err = Console(stderr=True)

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (RAGD_DATA_DIR, default ./ragd-data).")
]


def settings_for(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


@contextmanager
def open_ragd(data_dir: Path | None, *, allow_model_change: bool = False) -> Iterator[Ragd]:
    r = Ragd(settings_for(data_dir), allow_model_change=allow_model_change)
    try:
        yield r
    finally:
        r.close()


def run_guarded(fn: Callable[[], None]) -> None:
    """Run a command body; ragd errors and bad settings become one line on stderr and exit code 1."""
    try:
        fn()
    except RagdError as exc:
        console_err.print(f"[red]error[/red] {escape(f'[{exc.code}]')}: {escape(exc.detail)}", highlight=False)
        raise typer.Exit(1) from exc
    except (ValidationError, SettingsError) as exc:
        message = f"{exc}{_env_file_note()}"
        # not wrapped at the terminal's width: a path or a variable name stays one word
        console_err.print(f"[red]error[/red] {escape('[configuration_error]')}: {escape(message)}", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(1) from exc


def _env_file_note() -> str:
    """Where the settings came from besides the environment, for a configuration error."""
    try:
        path = env_file()
    except SettingsError:
        return ""
    return f"\n(settings read from the environment and from {path.absolute()})" if path else ""
