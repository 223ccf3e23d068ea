"""Just enough of the Dockerfile and .dockerignore formats to check ours without a Docker engine."""

from __future__ import annotations

import fnmatch
import json
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """The JSON array of ENTRYPOINT/CMD (or of a HEALTHCHECK's CMD)."""
        text = self.args.split(" CMD ", 1)[1] if self.keyword == "HEALTHCHECK" else self.args
        value = json.loads(text)
        assert isinstance(value, list), f"{self.keyword} is not in exec (JSON) form"
        return value

    def words(self) -> list[str]:
        return shlex.split(self.args)


def instructions(dockerfile: Path) -> list[Instruction]:
    """Instructions in order, with continuation lines joined and comments dropped."""
    result, pending = [], ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # comments may sit inside continuations too
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        result.append(Instruction(keyword.upper(), " ".join(args.split())))
        pending = ""
    return result


def stages(dockerfile: Path) -> list[list[Instruction]]:
    """Instructions grouped by build stage (each starts at a FROM)."""
    groups: list[list[Instruction]] = []
    for instruction in instructions(dockerfile):
        if instruction.keyword == "FROM":
            groups.append([])
        if groups:
            groups[-1].append(instruction)
    return groups


def copy_sources(stage: list[Instruction]) -> list[str]:
    """What the stage's COPY instructions take from the build context."""
    sources = []
    for instruction in stage:
        if instruction.keyword != "COPY":
            continue
        words = instruction.words()
        if any(word.startswith("--from") for word in words):
            continue
        sources += [word.rstrip("/") for word in words[:-1] if not word.startswith("--")]
    return sources


def in_build_context(path: str, dockerignore: Path) -> bool:
    """Whether ``path`` is sent to the builder: the last .dockerignore pattern matching it or
    one of its parent directories decides, as Docker does."""
    patterns = [line.strip() for line in dockerignore.read_text().splitlines()
                if line.strip() and not line.strip().startswith("#")]
    parts = Path(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if glob.startswith("**/"):
            matches = any(fnmatch.fnmatch(part, glob[3:]) for part in parts)
        else:
            matches = any(fnmatch.fnmatch(candidate, glob) for candidate in candidates)
        if matches:
            included = negated
    return included
