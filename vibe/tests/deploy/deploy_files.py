"""Readers for the deployment files: Dockerfile instructions, compose files, manifests.

Small and literal on purpose: the tests compare what these files say with the
application's settings and routes, so the parsing must not guess.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = REPO / "docker-compose.yml"
COMPOSE_OVERRIDES = REPO / "deploy" / "compose"
K8S = REPO / "deploy" / "k8s"

#: Paths and addresses inside the container (not on this machine).
CONTAINER_TMP = "/tmp"  # noqa: S108 - the container's /tmp (tmpfs / emptyDir)
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - the probes are reached from outside the container

#: Variables the image sets for the Python process itself, not application settings.
PROCESS_VARIABLES = frozenset({"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "XDG_CACHE_HOME"})


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case, e.g. "RUN"
    args: str  # continuation lines joined with a space
    stage: int  # 0 for the first FROM
    line: int  # 1-based line of the keyword


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    out: list[Instruction] = []
    stage, buffer, start = -1, "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        if not buffer and (not text or text.startswith("#")):
            continue
        if buffer and text.startswith("#"):
            continue  # comment lines inside a continuation are dropped by Docker
        if not buffer:
            start = number
        continued = text.endswith("\\")
        buffer += " " + (text[:-1] if continued else text)
        if continued:
            continue
        keyword, _, args = buffer.strip().partition(" ")
        keyword = keyword.upper()
        stage += keyword == "FROM"
        out.append(Instruction(keyword, args.strip(), stage, start))
        buffer = ""
    return out


def runtime_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def only(instructions: list[Instruction], keyword: str) -> list[Instruction]:
    return [i for i in instructions if i.keyword == keyword]


def dockerfile_env(instructions: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in only(runtime_stage(instructions), "ENV"):
        tokens = shlex.split(instruction.args)
        if "=" not in tokens[0]:
            raise AssertionError(f"legacy `ENV key value` form at line {instruction.line}")
        for token in tokens:
            key, _, value = token.partition("=")
            env[key] = value
    return env


def exec_form(instruction: Instruction) -> list[str]:
    value = json.loads(instruction.args)
    assert isinstance(value, list), f"{instruction.keyword} at line {instruction.line}"
    return [str(part) for part in value]


def healthcheck(instructions: list[Instruction]) -> tuple[dict[str, str], list[str]]:
    (check,) = only(runtime_stage(instructions), "HEALTHCHECK")
    options, _, command = check.args.partition("CMD")
    flags = dict(flag.lstrip("-").split("=", 1) for flag in options.split())
    return flags, json.loads(command)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose() -> dict[str, Any]:
    data = load_yaml(COMPOSE)
    assert isinstance(data, dict)
    return data


def compose_overrides() -> dict[str, dict[str, Any]]:
    return {path.name: load_yaml(path) for path in sorted(COMPOSE_OVERRIDES.glob("*.yml"))}


def kustomization() -> dict[str, Any]:
    data = load_yaml(K8S / "kustomization.yaml")
    assert isinstance(data, dict)
    return data


def k8s_objects() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for name in kustomization()["resources"]:
        text = (K8S / name).read_text(encoding="utf-8")
        objects += [doc for doc in yaml.safe_load_all(text) if doc is not None]
    return objects


def k8s_object(kind: str) -> dict[str, Any]:
    (found,) = [obj for obj in k8s_objects() if obj["kind"] == kind]
    return found


def pod_spec() -> dict[str, Any]:
    spec = k8s_object("Deployment")["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def bot_container() -> dict[str, Any]:
    (container,) = pod_spec()["containers"]
    assert isinstance(container, dict)
    return container


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}


def duration_seconds(text: str) -> float:
    """Compose durations (Go syntax: ``1m30s``, ``60s``, ``500ms``) in seconds."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise AssertionError(f"not a compose duration: {text!r}")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _pattern_regex(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)
