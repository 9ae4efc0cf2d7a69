"""The alert rules as code reads them, and the Kubernetes monitoring manifest written from them.

`python deploy/prometheus/monitoring.py` writes deploy/k8s/monitoring.yaml (a ServiceMonitor and the
rules of alerts.yml as a PrometheusRule); `--check` exits 1 when that file is stale. The tests load this
module by path to read the rules' expressions and the vector selectors in them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ALERTS = HERE / "alerts.yml"
MANIFEST = HERE.parent / "k8s" / "monitoring.yaml"
# Every metric our expressions read: ours, prometheus_client's process and runtime ones, recorded
# series (level:metric:operations) and Prometheus' own `up`. Not after a quote: a label value.
_SELECTOR = re.compile(
    r"""(?<!["\w:])((?:[a-z_]+:)?(?:firstcall|process|python)_[a-z0-9_]+(?::[a-z0-9_]+)?|up)\b(\{[^}]*\})?"""
)
_HEADER = """\
# Prometheus Operator resources for firstcall: a ServiceMonitor (the services' /metrics, with `job` set
# to the service name, as the alert rules and the Grafana dashboards expect) and the alert rules.
# Written by `python deploy/prometheus/monitoring.py` from deploy/prometheus/alerts.yml: edit that file.
# Without the operator, leave this file out: the pods' prometheus.io/* annotations serve a plain
# Prometheus (docs/operations.md shows the relabelling that sets `job`).
"""
_COMMON_LABELS = {
    "app.kubernetes.io/name": "firstcall",
    "app.kubernetes.io/part-of": "firstcall",
}


def rule_groups() -> list[dict[str, Any]]:
    """The rule groups of alerts.yml."""
    groups: list[dict[str, Any]] = yaml.safe_load(ALERTS.read_text())["groups"]
    return groups


def expressions() -> dict[str, str]:
    """Every rule's expression, by the alert's or the recorded series' name."""
    return {rule.get("alert") or rule["record"]: rule["expr"] for group in rule_groups() for rule in group["rules"]}


def vector_selectors(expression: str) -> list[str]:
    """The instant-vector selectors of an expression (`name{matchers}`), ranges and offsets left out."""
    return [match.group(1) + (match.group(2) or "") for match in _SELECTOR.finditer(expression)]


class _Dumper(yaml.SafeDumper):
    """Multi-line expressions as literal blocks, as they read in alerts.yml."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _string)


def kubernetes_manifest() -> str:
    """deploy/k8s/monitoring.yaml as it should read."""
    service_monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "firstcall", "labels": _COMMON_LABELS},
        "spec": {
            "jobLabel": "app.kubernetes.io/component",
            "selector": {"matchLabels": {"app.kubernetes.io/part-of": "firstcall"}},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
        },
    }
    prometheus_rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "firstcall", "labels": _COMMON_LABELS},
        "spec": {"groups": rule_groups()},
    }
    documents = [yaml.dump(d, Dumper=_Dumper, sort_keys=False, width=120) for d in (service_monitor, prometheus_rule)]
    return _HEADER + "---\n".join(documents)


def main(argv: list[str]) -> int:
    wanted = kubernetes_manifest()
    if "--check" in argv:
        current = MANIFEST.read_text() if MANIFEST.exists() else ""
        if current != wanted:
            print(f"{MANIFEST} is stale: run python deploy/prometheus/monitoring.py", file=sys.stderr)
            return 1
        return 0
    MANIFEST.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
