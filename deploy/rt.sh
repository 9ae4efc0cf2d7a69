#!/usr/bin/env bash
# A Request Tracker 5 for development and tests: Debian's request-tracker5 package, RT's own standalone
# server (rt-server, Starlet) on 127.0.0.1, data in SQLite under var/rt, the site configuration kept in
# the repository (deploy/rt/RT_SiteConfig.pm), and what firstcall's helpdesk bridge needs provisioned
# (deploy/rt/provision.pl). Nothing under /etc is read or edited. See --help and deploy/rt/README.md.
set -euo pipefail
FIRSTCALL_LOG_TAG=rt
# shellcheck source=deploy/lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

# ------------------------------------------------------------ configuration
RT_HOST=127.0.0.1
RT_PORT="${FIRSTCALL_RT_PORT:-8280}"
RT_URL="http://${RT_HOST}:${RT_PORT}/"
# Starlet's prefork workers. Each holds ~220 MB (mostly shared); requests are CPU-bound Perl.
RT_WORKERS="${FIRSTCALL_RT_WORKERS:-2}"
START_TIMEOUT="${FIRSTCALL_RT_START_TIMEOUT:-120}"
STOP_TIMEOUT=30

RT_VAR="${FIRSTCALL_VAR}/rt"
RT_DB_DIR="${RT_VAR}/db"
RT_DB="${RT_DB_DIR}/rt5.sqlite"
RT_DB_READY="${RT_DB_DIR}/.initialised"   # written after a complete init, so a half-done one is redone
PROVISIONED="${RT_VAR}/.provisioned"      # what provision_fingerprint was when provisioning last succeeded
PID_FILE="${RT_VAR}/rt-server.pid"
SERVER_LOG="${RT_VAR}/rt-server.log"
ACCESS_LOG="${RT_VAR}/access.log"
TOKEN_FILE="${RT_VAR}/bridge.token"
ROOT_PASSWORD_FILE="${RT_VAR}/root.password"
LOCAL_CONFIG_DIR="${RT_VAR}/RT_SiteConfig.d"

RT_SHARE=/usr/share/request-tracker5
RT_LIB="${RT_SHARE}/lib"
RT_SERVER="${RT_SHARE}/libexec/rt-server"
RT_SETUP_DATABASE=/usr/sbin/rt-setup-database-5
# w3m: RT's preferred HTML-to-text converter (a Recommends, which --no-install-recommends would skip;
# without it RT warns on every start and converts HTML slowly in Perl).
RT_PACKAGES=(request-tracker5 rt5-standalone rt5-db-sqlite w3m)

usage() {
    cat <<EOF
Usage: deploy/rt.sh <command> [args]

Runs Request Tracker 5 for this checkout on ${RT_URL} (REST 2.0 under ${RT_URL}REST/2.0/).

Commands:
  install            install Debian's request-tracker5 (apt-get; as root, or through sudo) if missing
  start              install if missing, initialise the database once, provision, start rt-server,
                     wait until REST 2.0 answers; prints the URL. No-op when already running.
  stop               stop rt-server and its workers; no-op if stopped
  status             exit 0 if running and answering REST 2.0 with the bridge token, 1 otherwise
  provision          (re)apply queues, custom fields, group, integration user and rights
  agent NAME [EMAIL] ensure the privileged RT user NAME in the group 'firstcall agents'; prints a new
                     auth token for it (EMAIL defaults to NAME@firstcall.local)
  env                print FIRSTCALL_HELPDESK_RT_URL and FIRSTCALL_HELPDESK_RT_TOKEN as shell exports
  logs [tail args]   tail the server log (${SERVER_LOG#"$FIRSTCALL_ROOT"/})
  reset              stop and delete RT's data (var/rt); the package stays installed
  help, --help       this text

Environment (current value):
  FIRSTCALL_RT_PORT           ${RT_PORT}
  FIRSTCALL_RT_WORKERS        ${RT_WORKERS} (rt-server worker processes)
  FIRSTCALL_RT_START_TIMEOUT  ${START_TIMEOUT} (seconds)

Files: var/rt/ holds the SQLite database, the server's log and pid file, the integration user's token
(bridge.token) and RT root's web password (root.password), both mode 600. Local RT settings go in
var/rt/RT_SiteConfig.d/*.pm.
EOF
}

check_config() {
    if ! [[ $RT_PORT =~ ^[0-9]{1,5}$ ]] || (( RT_PORT < 1 || RT_PORT > 65535 )); then
        die "FIRSTCALL_RT_PORT must be a TCP port, got '$RT_PORT'"
    fi
    if ! [[ $RT_WORKERS =~ ^[0-9]{1,2}$ ]] || (( RT_WORKERS < 1 || RT_WORKERS > 32 )); then
        die "FIRSTCALL_RT_WORKERS must be 1..32, got '$RT_WORKERS'"
    fi
    [[ $START_TIMEOUT =~ ^[0-9]{1,4}$ ]] || die "FIRSTCALL_RT_START_TIMEOUT must be seconds, got '$START_TIMEOUT'"
}

# Every RT program this script runs sees the repository's configuration and this checkout's paths
# (read by deploy/rt/RT_SiteConfig.pm); RT_SITE_CONFIG_DIR replaces both of RT's RT_SiteConfig.d
# folders, so Debian's /etc/request-tracker5/RT_SiteConfig.d (dbconfig's database settings) is ignored.
export RT_SITE_CONFIG="${FIRSTCALL_DEPLOY}/rt/RT_SiteConfig.pm"
export RT_SITE_CONFIG_DIR="$LOCAL_CONFIG_DIR"
export FIRSTCALL_RT_VAR="$RT_VAR"
export FIRSTCALL_RT_PORT="$RT_PORT"

# ------------------------------------------------------------ install
rt_installed() {
    local status
    status="$(dpkg-query -W -f='${db:Status-Status} ' "${RT_PACKAGES[@]}" 2>/dev/null || true)"
    [[ $status == "installed installed installed installed " && -x $RT_SERVER && -x $RT_SETUP_DATABASE ]]
}

cmd_install() {
    if rt_installed; then
        log "request-tracker5 is installed ($(dpkg-query -W -f='${Version}' request-tracker5))"
        return 0
    fi
    need_cmd apt-get "This script installs Request Tracker on Debian/Ubuntu only."
    local -a sudo=()
    if ! is_root; then
        command -v sudo >/dev/null 2>&1 \
            || die "Request Tracker is not installed and you are not root (and there is no sudo): ask for 'apt-get install --no-install-recommends ${RT_PACKAGES[*]}'"
        sudo=(sudo)
    fi
    local -a packages=("${RT_PACKAGES[@]}")
    # The package needs some MTA (default-mta | mail-transport-agent); apt would pick exim4, a daemon.
    # dma delivers without one, and RT never hands it mail here (MailCommand 'mbox'). A machine that
    # already has an MTA keeps it: naming dma there would make apt remove the MTA.
    [[ -e /usr/sbin/sendmail ]] || packages+=(dma)
    local t0 apt_log
    t0=$(now_ms)
    mkdir -p "${FIRSTCALL_VAR}/log"
    apt_log="${FIRSTCALL_VAR}/log/apt-request-tracker.log"
    log "installing ${packages[*]} from the Debian packages (apt-get, about a minute)..."
    # Answers for the packages' questions: dbconfig must not create a system database (we initialise
    # our own under var/rt), no cron jobs, and dma (if installed) delivers locally only.
    if ! { "${sudo[@]}" debconf-set-selections <<'SELECTIONS'
request-tracker5 request-tracker5/dbconfig-install boolean false
request-tracker5 request-tracker5/install-cronjobs boolean false
dma dma/mailname string localhost
dma dma/relayhost string
SELECTIONS
        } >"$apt_log" 2>&1; then
        tail -n 30 "$apt_log" >&2
        die "debconf-set-selections failed (full output: $apt_log)"
    fi
    if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update \
           && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
                  apt-get install -y --no-install-recommends "${packages[@]}"; } >>"$apt_log" 2>&1 </dev/null; then
        tail -n 30 "$apt_log" >&2
        die "installing Request Tracker with apt-get failed (full output: $apt_log)"
    fi
    rt_installed || die "apt-get finished but ${RT_SERVER} or ${RT_SETUP_DATABASE} is missing (see $apt_log)"
    log "installed request-tracker5 $(dpkg-query -W -f='${Version}' request-tracker5) in $(elapsed "$t0")"
}

require_installed() {
    rt_installed || die "Request Tracker is not installed: run 'deploy/rt.sh install' (or start)"
}

# ------------------------------------------------------------ database & provisioning
CONTROL_LOCK=""
lock_control() {
    [[ -n $CONTROL_LOCK ]] && return 0
    mkdir -p "$RT_VAR"
    exec {CONTROL_LOCK}>"${RT_VAR}/.control.lock"
    flock -w $((START_TIMEOUT + STOP_TIMEOUT + 120)) "$CONTROL_LOCK" \
        || die "timed out waiting for another deploy/rt.sh on $RT_VAR"
}

rt_perl() { # rt_perl <args...>: perl with RT's libraries
    perl -I"$RT_LIB" "$@"
}

init_database_once() {
    [[ -f $RT_DB_READY && -s $RT_DB ]] && return 0
    local t0 init_log
    t0=$(now_ms)
    mkdir -p "$RT_DB_DIR" "$LOCAL_CONFIG_DIR" "${RT_VAR}/cache/mason_data" "${RT_VAR}/cache/session_data"
    # A database without the marker is a half-done init (killed, disk full): start it again, and with it
    # the secrets that belonged to it.
    rm -f "$RT_DB" "${RT_DB}-journal" "$TOKEN_FILE" "$ROOT_PASSWORD_FILE" "$PROVISIONED"
    init_log="${RT_VAR}/init.log"
    log "initialising RT's database ${RT_DB#"$FIRSTCALL_ROOT"/}"
    if ! "$RT_SETUP_DATABASE" --action init --skip-create </dev/null >"$init_log" 2>&1; then
        tail -n 30 "$init_log" >&2
        die "rt-setup-database failed (full output: $init_log)"
    fi
    touch "$RT_DB_READY"
    log "database initialised in $(elapsed "$t0")"
}

# The provisioning's own fingerprint: its script and the files it writes. Starting a stopped RT skips
# provisioning (seconds of Perl) when nothing of it changed since it last ran.
provision_fingerprint() {
    { sha256sum "${FIRSTCALL_DEPLOY}/rt/provision.pl"; ls -l "$TOKEN_FILE" "$ROOT_PASSWORD_FILE" 2>&1; } | sha256sum
}
provision() {
    local t0
    t0=$(now_ms)
    rm -f "$PROVISIONED"
    rt_perl "${FIRSTCALL_DEPLOY}/rt/provision.pl" provision "$TOKEN_FILE" "$ROOT_PASSWORD_FILE" \
        </dev/null 2>>"$SERVER_LOG" || die "provisioning failed (see the end of $SERVER_LOG)"
    provision_fingerprint >"$PROVISIONED"
    log "provisioned queues, custom fields, group 'firstcall agents' and user 'firstcall-bridge' in $(elapsed "$t0")"
}

provision_if_changed() {
    if [[ -s $TOKEN_FILE && -f $PROVISIONED && $(cat "$PROVISIONED") == "$(provision_fingerprint)" ]]; then
        return 0
    fi
    provision
}

# ------------------------------------------------------------ process
server_signature() { echo "$ACCESS_LOG"; }   # in rt-server's command line, unique to this checkout

# server_pid: the running rt-server master of this checkout (from the pid file, checked against the
# command line so a reused pid is never taken for ours).
server_pid() {
    local pid=""
    [[ -f $PID_FILE ]] && pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    if pid_alive "$pid" && pid_cmdline_has "$pid" "$(server_signature)"; then
        echo "$pid"
        return 0
    fi
    return 1
}

# Processes of this checkout's rt-server that are still there (workers whose master died, a master
# whose pid file was lost): every process whose command line carries the signature.
leftover_pids() {
    local p sig
    sig="$(server_signature)"
    # shellcheck disable=SC2013  # pids: one word each
    for p in $(grep -lsF -- "$sig" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
        [[ $p != "$$" ]] && pid_alive "$p" && pid_cmdline_has "$p" rt-server && echo "$p"
    done
    return 0
}

# rest_status <token|-> : the HTTP status of GET /REST/2.0/rt ("000" when nothing answers). The token
# goes to curl on stdin, never on its command line (visible to every user in ps).
rest_status() {
    local token=$1
    if [[ $token == - ]]; then
        curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${RT_URL}REST/2.0/rt" 2>/dev/null || true
    else
        printf 'header = "Authorization: token %s"\n' "$token" \
            | curl -s -o /dev/null -w '%{http_code}' --max-time 10 -K - "${RT_URL}REST/2.0/rt" 2>/dev/null || true
    fi
}

bridge_token() { cat "$TOKEN_FILE" 2>/dev/null || true; }

rest_ready() { [[ $(rest_status "$(bridge_token)") == 200 ]]; }

launch_server() {
    printf '\n==== %s starting rt-server on %s ====\n' "$(date -Is)" "$RT_URL" >>"$SERVER_LOG"
    rm -f "$PID_FILE"
    # setsid: its own session, so the server survives the calling shell and a test runner's Ctrl-C.
    # The small bash writes its pid and execs perl: the pid file holds the Starlet master's pid.
    # {CONTROL_LOCK}>&- : the server must not inherit (and hold) the control lock.
    # shellcheck disable=SC2016  # $$, $1, $@ expand in the inner bash
    # cd /: the server must not keep the directory it was started from busy.
    setsid bash -c 'cd / && echo $$ >"$1" && shift && exec "$@"' _ "$PID_FILE" \
        perl "$RT_SERVER" \
        --server Starlet --host "$RT_HOST" --port "$RT_PORT" --max-workers "$RT_WORKERS" \
        --access-log "$ACCESS_LOG" \
        </dev/null >>"$SERVER_LOG" 2>&1 {CONTROL_LOCK}>&- &
    wait_until 5 0.05 test -s "$PID_FILE" || die "rt-server did not start (see $SERVER_LOG)"
}

wait_ready() { # wait_ready <pid>
    local pid=$1 deadline=$(( $(date +%s) + START_TIMEOUT )) code new_token=""
    while true; do
        code="$(rest_status "$(bridge_token)")"
        [[ $code == 200 ]] && return 0
        if [[ $code == 401 && -z $new_token ]]; then
            # The token was revoked in RT (or var/rt/bridge.token edited): provisioning makes a new one.
            warn "RT rejects the bridge token in ${TOKEN_FILE#"$FIRSTCALL_ROOT"/}; making a new one"
            rm -f "$TOKEN_FILE"
            provision
            new_token=1
            continue
        elif [[ $code == 401 ]]; then
            stop_server "$pid"
            die "rt-server rejects even a new bridge token (see $SERVER_LOG); 'deploy/rt.sh reset' starts afresh"
        fi
        if ! pid_alive "$pid"; then
            tail -n 30 "$SERVER_LOG" >&2 || true
            die "rt-server (pid $pid) exited during startup (log: $SERVER_LOG)"
        fi
        if (( $(date +%s) >= deadline )); then
            tail -n 30 "$SERVER_LOG" >&2 || true
            stop_server "$pid"
            die "RT did not answer on ${RT_URL}REST/2.0/rt within ${START_TIMEOUT}s (FIRSTCALL_RT_START_TIMEOUT)"
        fi
        sleep 0.2
    done
}

# stop_server <pid>: the master first (Starlet's master stops its workers), then whatever is left.
stop_server() {
    local pid=$1 p
    stop_pid "$pid" "$STOP_TIMEOUT" "rt-server"
    for p in $(leftover_pids); do
        warn "rt-server process $p outlived its master; stopping it"
        stop_pid "$p" 10 "rt-server worker"
    done
    rm -f "$PID_FILE"
}

# ------------------------------------------------------------ commands
cmd_start() {
    local pid t0
    need_cmd curl "Install curl (apt-get install curl)."
    # The fast path, for `make up` on a running stack: no lock, no Perl, one HTTP request.
    if server_pid >/dev/null && rest_ready; then
        log "already running on ${RT_URL} (pid $(server_pid))"
        echo "$RT_URL"
        return 0
    fi
    lock_control
    if pid="$(server_pid)"; then
        log "rt-server (pid $pid) runs but REST 2.0 does not accept the bridge token (yet); waiting up to ${START_TIMEOUT}s"
        wait_ready "$pid"
        log "ready on ${RT_URL}"
        echo "$RT_URL"
        return 0
    fi
    for pid in $(leftover_pids); do
        warn "stopping rt-server process $pid left from an earlier run"
        stop_pid "$pid" 10 "rt-server"
    done
    [[ $(rest_status -) == 000 ]] \
        || die "port ${RT_PORT} already answers HTTP (not this checkout's rt-server); set FIRSTCALL_RT_PORT"
    tcp_open "$RT_HOST" "$RT_PORT" && die "port ${RT_PORT} is already in use by another process; set FIRSTCALL_RT_PORT"

    cmd_install
    t0=$(now_ms)
    mkdir -p "$RT_VAR" "$LOCAL_CONFIG_DIR"
    init_database_once
    provision_if_changed
    log "starting rt-server on ${RT_URL} (${RT_WORKERS} workers, data ${RT_VAR#"$FIRSTCALL_ROOT"/}, log ${SERVER_LOG#"$FIRSTCALL_ROOT"/})"
    launch_server
    pid="$(cat "$PID_FILE")"
    wait_ready "$pid"
    log "ready on ${RT_URL} (pid $pid) after $(elapsed "$t0")"
    echo "$RT_URL"
}

cmd_stop() {
    local pid t0 p
    if [[ ! -d $RT_VAR ]]; then
        log "not running (${RT_URL})"
        return 0
    fi
    lock_control
    t0=$(now_ms)
    if pid="$(server_pid)"; then
        log "stopping rt-server pid $pid (${RT_URL})"
        stop_server "$pid"
        log "stopped after $(elapsed "$t0")"
        return 0
    fi
    for p in $(leftover_pids); do
        warn "stopping rt-server process $p (its pid file was lost)"
        stop_pid "$p" 10 "rt-server"
    done
    rm -f "$PID_FILE"
    log "not running (${RT_URL})"
}

cmd_status() {
    local pid code
    if pid="$(server_pid)"; then
        code="$(rest_status "$(bridge_token)")"
        if [[ $code == 200 ]]; then
            echo "rt: running on ${RT_URL} (pid ${pid}, ${RT_WORKERS} workers, data ${RT_VAR})"
            return 0
        fi
        echo "rt: process ${pid} alive but REST 2.0 answers HTTP ${code} on ${RT_URL} (starting, or see deploy/rt.sh logs)"
        return 1
    fi
    if [[ $(rest_status -) != 000 ]]; then
        echo "rt: not running from ${RT_VAR}, but something answers HTTP on ${RT_URL}"
    else
        echo "rt: not running (${RT_URL}, data ${RT_VAR})"
    fi
    return 1
}

require_database() {
    require_installed
    [[ -f $RT_DB_READY ]] || die "RT's database is not initialised yet: run 'deploy/rt.sh start' first"
}

cmd_provision() {
    require_database
    lock_control
    provision
}

cmd_agent() {
    local name=${1:-} email=${2:-}
    [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] \
        || die "usage: deploy/rt.sh agent NAME [EMAIL]  (NAME: 1-64 of letters, digits, . _ -, got '$name')"
    email=${email:-${name}@firstcall.local}
    [[ ${#email} -le 254 && $email =~ ^[^@[:space:]]+@[^@[:space:]]+$ ]] || die "not an email address: '$email'"
    require_database
    lock_control
    mkdir -p "$RT_VAR"
    rt_perl "${FIRSTCALL_DEPLOY}/rt/provision.pl" agent "$name" "$email" </dev/null 2>>"$SERVER_LOG" \
        || die "could not make agent '$name' (see the end of $SERVER_LOG)"
}

cmd_env() {
    [[ -s $TOKEN_FILE ]] || die "no bridge token yet in ${TOKEN_FILE}: run 'deploy/rt.sh start' first"
    echo "export FIRSTCALL_HELPDESK_RT_URL=${RT_URL}"
    echo "export FIRSTCALL_HELPDESK_RT_TOKEN=$(bridge_token)"
}

cmd_logs() {
    [[ -f $SERVER_LOG ]] || die "no server log yet at $SERVER_LOG"
    if (( $# == 0 )); then set -- -n 100; fi
    exec tail "$@" "$SERVER_LOG"
}

cmd_reset() {
    cmd_stop
    case "$RT_VAR" in
        / | "$FIRSTCALL_ROOT" | "$FIRSTCALL_VAR" | "${HOME:-/}" | "") die "refusing to delete '$RT_VAR'" ;;
    esac
    rm -rf "$RT_VAR"
    log "deleted ${RT_VAR}"
}

# ------------------------------------------------------------ main
main() {
    local cmd="${1:-help}"
    (( $# )) && shift
    case "$cmd" in
        help | -h | --help) usage; return 0 ;;
    esac
    check_config
    case "$cmd" in
        install)   cmd_install ;;
        start)     cmd_start ;;
        stop)      cmd_stop ;;
        restart)   cmd_stop; cmd_start ;;
        status)    cmd_status ;;
        provision) cmd_provision ;;
        agent)     cmd_agent "$@" ;;
        env)       cmd_env ;;
        logs)      cmd_logs "$@" ;;
        reset)     cmd_reset ;;
        *) usage >&2; die "unknown command '$cmd'" ;;
    esac
}

main "$@"
