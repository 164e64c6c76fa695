"""The deployment files agree with the application: routes, port, settings, paths, UIDs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute

from vibe.common.clock import SimulatedClock
from vibe.tests.deploy.deploy_files import (
    ALL_INTERFACES,
    CONTAINER_TMP,
    PROCESS_VARIABLES,
    bot_container,
    compose,
    compose_overrides,
    dockerfile_env,
    dockerfile_instructions,
    duration_seconds,
    healthcheck,
    k8s_object,
    only,
    pod_spec,
    runtime_stage,
)
from vibe.trading_bot.api.health import create_health_app
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.config.settings import (
    HealthSettings,
    ServiceSettings,
    is_secret_setting,
    setting_names,
)
from vibe.trading_bot.core.health_monitor import HealthMonitor

SETTINGS = {name.upper() for name in setting_names()}
DEFAULT_PORT = HealthSettings.model_fields["health_check_port"].default
DEFAULT_SHUTDOWN = ServiceSettings.model_fields["shutdown_timeout_seconds"].default


@pytest.fixture(scope="module")
def routes() -> dict[str, str]:
    """Route name (the handler's name in api/health.py) -> path, GET routes only."""
    clock = SimulatedClock(datetime(2024, 3, 4, 14, 30, tzinfo=UTC))
    app = create_health_app(HealthMonitor(HealthSettings(), clock))
    return {
        route.name: route.path
        for route in app.routes
        if isinstance(route, APIRoute) and "GET" in (route.methods or set())
    }


def _dockerfile_env() -> dict[str, str]:
    return dockerfile_env(dockerfile_instructions())


def _bot_env() -> dict[str, str]:
    return {k: str(v) for k, v in compose()["services"]["bot"]["environment"].items()}


def _configmap() -> dict[str, str]:
    data: dict[str, str] = k8s_object("ConfigMap")["data"]
    return data


def _secret() -> dict[str, str]:
    data: dict[str, str] = k8s_object("Secret")["stringData"]
    return data


def _path_in(text: str) -> str:
    match = re.search(r"/health/\w+", text)
    assert match, text
    return match.group(0)


# ---- probe paths --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("probe", "handler"),
    [("startupProbe", "startup"), ("livenessProbe", "live"), ("readinessProbe", "ready")],
)
def test_k8s_probe_paths_are_routes(routes, probe, handler):
    assert bot_container()[probe]["httpGet"]["path"] == routes[handler]


def test_image_and_compose_healthchecks_call_liveness(routes):
    _, command = healthcheck(dockerfile_instructions())
    assert _path_in(command[2]) == routes["live"]
    compose_check = compose()["services"]["bot"]["healthcheck"]["test"]
    assert compose_check == ["CMD", *command], "compose runs the image's own probe"


def test_metrics_annotation_is_a_route(routes):
    annotations = k8s_object("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] in routes.values()
    assert annotations["prometheus.io/path"] == routes["prometheus"]


# ---- port ---------------------------------------------------------------------------


def test_health_port_is_the_settings_default_everywhere():
    (expose,) = only(runtime_stage(dockerfile_instructions()), "EXPOSE")
    assert int(expose.args) == DEFAULT_PORT
    assert int(_dockerfile_env()["HEALTH_CHECK_PORT"]) == DEFAULT_PORT
    assert int(_bot_env()["HEALTH_CHECK_PORT"]) == DEFAULT_PORT
    (published,) = compose()["services"]["bot"]["ports"]
    assert int(published.split(":")[-1]) == DEFAULT_PORT
    assert int(_configmap()["HEALTH_CHECK_PORT"]) == DEFAULT_PORT
    (port,) = bot_container()["ports"]
    assert port["containerPort"] == DEFAULT_PORT
    annotations = k8s_object("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == DEFAULT_PORT
    assert k8s_object("Service")["spec"]["ports"][0]["port"] == DEFAULT_PORT


def test_health_host_listens_beyond_loopback():
    # Probes come from the kubelet / the published port, not from inside the container.
    for env in (_dockerfile_env(), _bot_env(), _configmap()):
        assert env["HEALTH_CHECK_HOST"] == ALL_INTERFACES


# ---- variable names and values ----------------------------------------------------


def test_dockerfile_env_names_are_settings_or_process_variables():
    env = _dockerfile_env()
    assert set(env) - PROCESS_VARIABLES <= SETTINGS
    assert set(env) & PROCESS_VARIABLES, "the allow-list is in use"


def test_compose_env_names_are_settings():
    assert set(_bot_env()) <= SETTINGS
    for name, override in compose_overrides().items():
        assert set(override["services"]["bot"]["environment"]) <= SETTINGS, name


def test_k8s_env_names_are_settings():
    assert set(_configmap()) <= SETTINGS
    assert set(_secret()) <= SETTINGS
    assert {item["name"] for item in bot_container().get("env", [])} <= SETTINGS


def test_secrets_live_only_in_the_secret():
    secrets = {name for name in SETTINGS if is_secret_setting(name)}
    assert secrets, "settings declare secrets"
    assert set(_secret()) <= secrets
    assert {"DISCORD_WEBHOOK_URL", "FINNHUB_API_KEY"} <= set(_secret())
    assert not set(_configmap()) & secrets
    assert not set(_dockerfile_env()) & secrets
    assert not set(_bot_env()) & secrets
    assert all(value == "" for value in _secret().values()), "placeholders only"


def test_override_secrets_are_emulator_credentials():
    services = compose()["services"]
    cloud = {name for name, s in services.items() if "cloud" in s.get("profiles", [])}
    for name, override in compose_overrides().items():
        env = override["services"]["bot"]["environment"]
        if "AWS_ACCESS_KEY_ID" in env:
            assert urlsplit(env["AWS_ENDPOINT_URL"]).hostname in cloud, name
        if "AZURE_STORAGE_CONNECTION_STRING" in env:
            blob = re.search(r"BlobEndpoint=([^;]+)", env["AZURE_STORAGE_CONNECTION_STRING"])
            assert blob and urlsplit(blob.group(1)).hostname in cloud, name
            assert "AccountName=devstoreaccount1" in env["AZURE_STORAGE_CONNECTION_STRING"]


def _load(values: dict[str, Any]) -> None:
    load_settings(env_file=None, overrides=values)


def test_values_are_valid_settings():
    image = {k: v for k, v in _dockerfile_env().items() if k not in PROCESS_VARIABLES}
    _load(image)
    _load({**image, **_bot_env()})
    for override in compose_overrides().values():
        _load({**image, **_bot_env(), **override["services"]["bot"]["environment"]})
    _load({**image, **_configmap(), **_secret()})


def test_cloud_overrides_name_what_the_setup_creates():
    script = compose()["services"]["cloud-setup"]["entrypoint"][2]
    for name, override in compose_overrides().items():
        env = override["services"]["bot"]["environment"]
        target = env.get("CLOUD_SYNC_BUCKET") or env.get("CLOUD_SYNC_CONTAINER")
        assert target and f'"{target}"' in script, name


# ---- paths --------------------------------------------------------------------------


def test_data_volume_is_data_dir_everywhere():
    data_dir = _dockerfile_env()["DATA_DIR"]
    instructions = runtime_stage(dockerfile_instructions())
    assert data_dir in only(instructions, "VOLUME")[0].args
    assert _bot_env()["DATA_DIR"] == data_dir
    assert _configmap()["DATA_DIR"] == data_dir
    volume, target = compose()["services"]["bot"]["volumes"][0].split(":")
    assert target == data_dir and volume in compose()["volumes"]
    pvc_volume = next(v["name"] for v in pod_spec()["volumes"] if "persistentVolumeClaim" in v)
    mounts = {m["name"]: m["mountPath"] for m in bot_container()["volumeMounts"]}
    assert mounts[pvc_volume] == data_dir


def test_everything_written_lands_on_a_writable_mount():
    # Root filesystems are read-only (compose read_only, k8s readOnlyRootFilesystem).
    for env in (_dockerfile_env(), {**_dockerfile_env(), **_bot_env()}, _configmap()):
        data_dir = PurePosixPath(env["DATA_DIR"])
        for name in ("RESULTS_DIR", "CLOUD_SYNC_DIR"):
            assert PurePosixPath(env[name]).is_relative_to(data_dir), name
    assert PurePosixPath(_dockerfile_env()["XDG_CACHE_HOME"]).is_relative_to(CONTAINER_TMP)


# ---- shutdown and identity ------------------------------------------------------------


def test_compose_grace_period_exceeds_the_shutdown_timeout():
    timeout = float(_bot_env().get("SHUTDOWN_TIMEOUT_SECONDS", DEFAULT_SHUTDOWN))
    bot = compose()["services"]["bot"]
    assert bot["stop_signal"] == "SIGTERM"
    assert duration_seconds(bot["stop_grace_period"]) > timeout + 5


def test_k8s_grace_period_exceeds_the_shutdown_timeout():
    timeout = float(_configmap().get("SHUTDOWN_TIMEOUT_SECONDS", DEFAULT_SHUTDOWN))
    assert pod_spec()["terminationGracePeriodSeconds"] > timeout + 5


def test_uid_and_gid_match_between_image_and_pod():
    runtime = runtime_stage(dockerfile_instructions())
    (user,) = only(runtime, "USER")
    uid, gid = (int(part) for part in user.args.split(":"))
    useradd = next(i.args for i in only(runtime, "RUN") if "useradd" in i.args)
    assert f"--uid {uid}" in useradd and f"--gid {gid}" in useradd
    pod, container = pod_spec()["securityContext"], bot_container()["securityContext"]
    assert pod["runAsUser"] == container["runAsUser"] == uid
    assert pod["runAsGroup"] == container["runAsGroup"] == pod["fsGroup"] == gid
    chown = next(i.args for i in only(runtime, "RUN") if "chown" in i.args)
    assert f"{uid}:{gid} {_dockerfile_env()['DATA_DIR']}" in chown
