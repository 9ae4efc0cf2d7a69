#!/usr/bin/env bash
# Prometheus and promtool from Debian's `prometheus` package, for the alert rules' checks and a local
# Prometheus that scrapes the services.
#
#   deploy/prometheus.sh install   install the package if promtool is missing, and keep its daemon stopped
#   deploy/prometheus.sh check     promtool check config/rules and the rules' unit tests
#   deploy/prometheus.sh run       a Prometheus in the foreground on 127.0.0.1:${FIRSTCALL_PROMETHEUS_PORT:-9090}
#                                  (deploy/prometheus/prometheus.yml; data under var/prometheus)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONFIG="${FIRSTCALL_DEPLOY}/prometheus/prometheus.yml"
PORT="${FIRSTCALL_PROMETHEUS_PORT:-9090}"

cmd_install() {
    if command -v promtool >/dev/null 2>&1; then
        log "promtool present: $(command -v promtool)"
        return 0
    fi
    need_cmd apt-get "Install Prometheus yourself (promtool must be on PATH)."
    local -a sudo=()
    if ! is_root; then
        command -v sudo >/dev/null 2>&1 || die "not root and no sudo: ask for 'apt-get install prometheus'"
        sudo=(sudo)
    fi
    mkdir -p "${FIRSTCALL_VAR}/log"
    local apt_log="${FIRSTCALL_VAR}/log/apt-prometheus.log"
    log "installing Debian's prometheus package (apt-get)..."
    if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update \
           && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
                  apt-get install -y --no-install-recommends prometheus; } >"$apt_log" 2>&1; then
        tail -n 30 "$apt_log" >&2
        die "installing prometheus with apt-get failed (full output: $apt_log)"
    fi
    stop_system_daemon
    log "installed $(promtool --version 2>&1 | head -n1)"
}

# The package enables and, where services may start, starts a system Prometheus on :9090. We run our
# own (tests on free ports, `run` here), so theirs is stopped and kept from starting at boot.
stop_system_daemon() {
    local -a sudo=()
    is_root || sudo=(sudo)
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
        "${sudo[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/prometheus ]]; then
        "${sudo[@]}" /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    fi
}

cmd_check() {
    need_cmd promtool "Run deploy/prometheus.sh install."
    promtool check config "$CONFIG"
    promtool check rules "${FIRSTCALL_DEPLOY}/prometheus/alerts.yml"
    promtool test rules "${FIRSTCALL_DEPLOY}/prometheus/alerts.test.yml"
}

cmd_run() {
    need_cmd prometheus "Run deploy/prometheus.sh install."
    mkdir -p "${FIRSTCALL_VAR}/prometheus"
    log "Prometheus on http://127.0.0.1:${PORT} (Ctrl-C stops it)"
    exec prometheus --config.file="$CONFIG" --storage.tsdb.path="${FIRSTCALL_VAR}/prometheus" \
        --web.listen-address="127.0.0.1:${PORT}"
}

case "${1:-}" in
    install) cmd_install ;;
    check) cmd_check ;;
    run) cmd_run ;;
    *) die "usage: $0 install|check|run" ;;
esac
