"""A Dockerfile read the way the builder reads the parts the tests compare: stages, their instructions (line
continuations joined, comments dropped), and a stage's ENV, ENTRYPOINT, CMD, USER, WORKDIR, VOLUME and HEALTHCHECK."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str:
        values = self.all(keyword)
        assert values, f"no {keyword} in stage {self.name}"
        return values[-1]

    def env(self) -> dict[str, str]:
        """Every ENV of the stage in order, ``$VAR`` of an earlier ENV expanded (others kept as written)."""
        out: dict[str, str] = {}
        for args in self.all("ENV"):
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                out[name] = _VAR.sub(lambda m: out.get(m[1] or m[2], m[0]), value)
        return out

    def exec_form(self, keyword: str) -> list[str]:
        value = json.loads(self.last(keyword))
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), (keyword, value)
        return value

    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """(options, exec-form command) of the stage's HEALTHCHECK."""
        options, _, command = self.last("HEALTHCHECK").partition(" CMD ")
        opts = dict(opt.removeprefix("--").split("=", 1) for opt in options.split())
        return opts, json.loads(command)


def instructions(path: Path) -> list[tuple[str, str]]:
    lines: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    out = []
    for line in lines:
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def stages(path: Path) -> list[Stage]:
    out: list[Stage] = []
    for keyword, args in instructions(path):
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(out))
            out.append(Stage(words[0], name))
        elif out:
            out[-1].instructions.append((keyword, args))
    return out


def global_args(path: Path) -> dict[str, str]:
    """The ``ARG`` instructions before the first ``FROM`` and their defaults."""
    out: dict[str, str] = {}
    for keyword, args in instructions(path):
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = args.partition("=")
            out[name] = default.strip('"')
    return out
