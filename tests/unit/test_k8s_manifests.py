"""The Kubernetes manifests, rendered by kustomize, start every service in production mode.

The Secret ships placeholders that production refuses on purpose; an operator replaces each one. This
test does what the operator does (every REPLACE-ME becomes a random value) and then builds each service's
settings from exactly the environment its container gets, so a setting production requires but the
manifests lack (FIRSTCALL_ADMIN_API_KEY was one) fails here instead of crash-looping a pod.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from services.helpdesk.settings import HelpdeskSettings
from services.knowledge.settings import KnowledgeSettings
from services.notifier.settings import NotifierSettings
from services.router.settings import RouterSettings
from shared.events.topics import TICKETS
from shared.settings import Environment, ServiceSettings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
SETTINGS: dict[str, type[ServiceSettings]] = {
    "router": RouterSettings,
    "knowledge": KnowledgeSettings,
    "notifier": NotifierSettings,
    "helpdesk": HelpdeskSettings,
}
# The helpdesk bridge holds a lease: one replica works at a time (docs/helpdesk.md), so more replicas would
# only stand by. It runs one replica and has no autoscaler, on purpose.
SINGLE_REPLICA = {"firstcall-helpdesk"}


def _rendered() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed to render the manifests (`kubectl kustomize`)"
    done = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=True, timeout=120)
    return [document for document in yaml.safe_load_all(done.stdout) if document]


def _as_operator_fills_it(value: str) -> str:
    return value.replace("REPLACE-ME", secrets.token_urlsafe(36))


def _container_environment(documents: list[dict[str, Any]], service: str) -> dict[str, str]:
    """The variables the service container sees: its envFrom ConfigMaps and Secrets, then its env."""
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in documents}
    deployment = by_name[("Deployment", f"firstcall-{service}")]
    container = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["args"][0] == "serve")
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            environment |= by_name[("ConfigMap", source["configMapRef"]["name"])]["data"]
        if "secretRef" in source:
            secret = by_name[("Secret", source["secretRef"]["name"])]
            environment |= {key: _as_operator_fills_it(value) for key, value in secret["stringData"].items()}
    environment |= {item["name"]: str(item["value"]) for item in container.get("env", []) if "value" in item}
    return environment


def _settings_in_container(service: str, monkeypatch: pytest.MonkeyPatch) -> ServiceSettings:
    environment = _container_environment(_rendered(), service)
    for name in [name for name in os.environ if name.startswith("FIRSTCALL_")]:
        monkeypatch.delenv(name)  # only what the manifests give the container
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return SETTINGS[service]()


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_service_starts_in_production_from_the_rendered_manifests(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings_in_container(service, monkeypatch)
    assert settings.environment is Environment.PRODUCTION
    assert settings.admin_api_key is not None


def test_the_bridge_gets_rt_and_the_routers_service_and_its_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings_in_container("helpdesk", monkeypatch)
    assert isinstance(settings, HelpdeskSettings)
    assert settings.connected
    assert settings.rt_token is not None
    assert settings.router_api_key is not None  # not the admin key: the router judges each agent's action
    router_service = next(
        d for d in _rendered() if d["kind"] == "Service" and d["metadata"]["name"] == "firstcall-router"
    )
    assert settings.router_url.host == router_service["metadata"]["name"]
    assert settings.router_url.port == router_service["spec"]["ports"][0]["port"]


def test_only_the_bridge_holds_rts_token() -> None:
    documents = _rendered()
    for service in ("router", "knowledge", "notifier"):
        assert "FIRSTCALL_HELPDESK_RT_TOKEN" not in _container_environment(documents, service)
    assert "FIRSTCALL_HELPDESK_RT_TOKEN" in _container_environment(documents, "helpdesk")


def test_the_shipped_secret_still_fails_safe_until_it_is_filled(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = next(d for d in _rendered() if d["kind"] == "Secret" and d["metadata"]["name"] == "firstcall-secrets")
    for name, value in secret["stringData"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FIRSTCALL_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="FIRSTCALL_SECRET_KEY"):
        RouterSettings()


def test_every_deployment_but_the_bridge_scales_within_what_its_consumer_group_can_share() -> None:
    documents = _rendered()
    deployments = {d["metadata"]["name"] for d in documents if d["kind"] == "Deployment"}
    autoscalers = {
        d["spec"]["scaleTargetRef"]["name"]: d["spec"] for d in documents if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert deployments >= SINGLE_REPLICA
    assert set(autoscalers) == deployments - SINGLE_REPLICA
    for name, spec in autoscalers.items():
        assert 2 <= spec["minReplicas"] <= spec["maxReplicas"]
        if name != "firstcall-router":  # a consumer beyond the partition count sits idle
            assert spec["maxReplicas"] <= TICKETS.partitions


def test_network_policies_let_the_services_reach_what_their_settings_name() -> None:
    documents = _rendered()
    config = next(d for d in documents if d["kind"] == "ConfigMap")["data"]
    kafka_port = int(config["FIRSTCALL_KAFKA_BOOTSTRAP_SERVERS"].split(",")[0].rsplit(":", 1)[1])
    egress_ports = {
        port["port"]
        for policy in documents
        if policy["kind"] == "NetworkPolicy"
        for rule in policy["spec"].get("egress", [])
        for port in rule.get("ports", [])
    }
    assert {53, kafka_port, 5432} <= egress_ports


def test_the_bridge_runs_one_replica_never_autoscaled_nor_held_by_a_disruption_budget() -> None:
    documents = _rendered()
    for name in SINGLE_REPLICA:
        deployment = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == name)
        assert deployment["spec"]["replicas"] == 1
        targets = [
            d["spec"]["scaleTargetRef"]["name"] if d["kind"] == "HorizontalPodAutoscaler" else d["metadata"]["name"]
            for d in documents
            if d["kind"] in ("HorizontalPodAutoscaler", "PodDisruptionBudget")
        ]
        assert name not in targets  # a budget of one on one replica would block every node drain


def test_the_bridge_may_reach_rt_the_router_and_the_notifier() -> None:
    documents = _rendered()
    config = next(d for d in documents if d["kind"] == "ConfigMap")["data"]
    rt = urlsplit(config["FIRSTCALL_HELPDESK_RT_URL"])
    router = urlsplit(config["FIRSTCALL_HELPDESK_ROUTER_URL"])
    notifier = urlsplit(config["FIRSTCALL_HELPDESK_NOTIFIER_URL"])
    bridge = {"app.kubernetes.io/name": "firstcall", "app.kubernetes.io/component": "helpdesk"}
    bridge["app.kubernetes.io/part-of"] = "firstcall"
    rules = [
        rule
        for policy in documents
        if policy["kind"] == "NetworkPolicy"
        and policy["spec"]["podSelector"].get("matchLabels", {}).items() <= bridge.items()
        for rule in policy["spec"].get("egress", [])
    ]

    def allowed(port: int, to: dict[str, str] | None) -> bool:
        """A rule opening `port` to anyone, or to pods labelled as `to` (a pod selector it matches)."""
        for rule in rules:
            if port not in {p["port"] for p in rule.get("ports", [])}:
                continue
            peers = rule.get("to")
            if not peers or any(
                to is not None and "podSelector" in peer and peer["podSelector"]["matchLabels"].items() <= to.items()
                for peer in peers
            ):
                return True
        return False

    assert allowed(rt.port or {"https": 443, "http": 80}[rt.scheme], None)
    assert allowed(router.port or 80, {"app.kubernetes.io/component": "router"})
    assert allowed(notifier.port or 80, {"app.kubernetes.io/component": "notifier"})
