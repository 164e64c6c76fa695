"""Compose files and Kubernetes manifests: they parse, and their parts fit together."""

from __future__ import annotations

import yaml

from vibe.tests.deploy.deploy_files import (
    COMPOSE,
    COMPOSE_OVERRIDES,
    CONTAINER_TMP,
    K8S,
    bot_container,
    compose,
    compose_overrides,
    k8s_object,
    k8s_objects,
    kustomization,
    pod_spec,
)


def test_every_deploy_yaml_file_parses():
    files = [COMPOSE, *COMPOSE_OVERRIDES.glob("*.yml"), *K8S.glob("*.yaml")]
    assert len(files) >= 9
    for path in files:
        documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        assert documents, path
        assert all(isinstance(doc, dict) for doc in documents), path


def test_kustomization_lists_every_manifest_in_the_folder():
    listed = kustomization()["resources"]
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(listed) == sorted(on_disk)
    images = {image["name"] for image in kustomization()["images"]}
    assert bot_container()["image"] in images


def test_every_object_is_named_and_typed():
    for obj in k8s_objects():
        assert obj["apiVersion"] and obj["kind"], obj
        assert obj["metadata"]["name"], obj
        assert "namespace" not in obj["metadata"], "kustomization.yaml sets the namespace"
    assert kustomization()["namespace"] == k8s_object("Namespace")["metadata"]["name"]


def test_configmap_and_secret_values_are_strings():
    # kubectl rejects numbers and booleans in data/stringData.
    for key, value in k8s_object("ConfigMap")["data"].items():
        assert isinstance(value, str), key
    for key, value in k8s_object("Secret")["stringData"].items():
        assert isinstance(value, str), key


def test_one_bot_at_a_time():
    spec = k8s_object("Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def test_deployment_references_resolve():
    deployment = k8s_object("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    refs = bot_container()["envFrom"]
    assert {r["configMapRef"]["name"] for r in refs if "configMapRef" in r} == {
        k8s_object("ConfigMap")["metadata"]["name"]
    }
    assert {r["secretRef"]["name"] for r in refs if "secretRef" in r} == {
        k8s_object("Secret")["metadata"]["name"]
    }
    claims = [
        v["persistentVolumeClaim"]["claimName"]
        for v in pod_spec()["volumes"]
        if "persistentVolumeClaim" in v
    ]
    assert claims == [k8s_object("PersistentVolumeClaim")["metadata"]["name"]]
    mounted = {m["name"] for m in bot_container()["volumeMounts"]}
    assert mounted == {v["name"] for v in pod_spec()["volumes"]}


def test_service_targets_the_pod():
    service = k8s_object("Service")
    labels = k8s_object("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    port_names = {p["name"] for p in bot_container()["ports"]}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in port_names


def test_probes_use_the_named_container_port():
    port_names = {p["name"] for p in bot_container()["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert bot_container()[probe]["httpGet"]["port"] in port_names, probe


def test_startup_probe_allows_restore_and_warm_up():
    startup = bot_container()["startupProbe"]
    budget = startup["periodSeconds"] * startup["failureThreshold"]
    assert budget >= 120, "cloud restore + history load need minutes, not seconds"
    live = bot_container()["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] >= 20, "no restart on one blip"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        p = bot_container()[probe]
        assert p["timeoutSeconds"] < p["periodSeconds"], probe


def test_locked_down_security_context():
    pod = pod_spec()["securityContext"]
    container = bot_container()["securityContext"]
    assert pod["runAsNonRoot"] is True and container["runAsNonRoot"] is True
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"]
    assert pod["fsGroup"] == pod["runAsGroup"], "the data volume is writable by the bot's group"
    mounts = {m["mountPath"]: m for m in bot_container()["volumeMounts"]}
    assert CONTAINER_TMP in mounts and not mounts[CONTAINER_TMP].get("readOnly", False)
    volumes = {v["name"]: v for v in pod_spec()["volumes"]}
    assert "emptyDir" in volumes[mounts[CONTAINER_TMP]["name"]]


def test_memory_limits():
    resources = bot_container()["resources"]
    assert resources["limits"]["memory"] == "512Mi"
    assert resources["requests"]["memory"]
    assert compose()["services"]["bot"]["mem_limit"] == "512m"


def test_compose_bot_is_hardened_and_restarts():
    bot = compose()["services"]["bot"]
    assert bot["restart"] == "unless-stopped"
    assert bot["read_only"] is True and CONTAINER_TMP in bot["tmpfs"]
    assert bot["cap_drop"] == ["ALL"]
    assert bot["env_file"] == [{"path": ".env", "required": False}]
    assert "profiles" not in bot


def test_compose_cloud_profile_services():
    services = compose()["services"]
    cloud = {name for name, s in services.items() if "cloud" in s.get("profiles", [])}
    assert {"s3", "azurite", "cloud-setup"} <= cloud
    assert services["azurite"]["image"].startswith("mcr.microsoft.com/azure-storage/azurite:")
    for name in cloud:
        image = services[name]["image"]
        assert ":" in image and not image.endswith(":latest"), image
    script = services["cloud-setup"]["entrypoint"][2]
    compile(script, "<cloud-setup>", "exec")


def test_overrides_only_touch_the_bot_and_wait_for_the_setup():
    for name, override in compose_overrides().items():
        assert set(override["services"]) == {"bot"}, name
        depends = override["services"]["bot"]["depends_on"]
        assert depends == {"cloud-setup": {"condition": "service_completed_successfully"}}
