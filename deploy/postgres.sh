#!/usr/bin/env bash
# A project-owned PostgreSQL cluster for development and tests, run from the
# Debian server binaries with initdb/pg_ctl: no system service (the Debian
# "main" cluster on 5432 is never used or touched). See --help.
set -euo pipefail
FIRSTCALL_LOG_TAG=postgres
# shellcheck source=deploy/lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

# ------------------------------------------------------------ configuration
PG_HOST=127.0.0.1
# 55432, not 5432: never clashes with a system cluster or a developer's own.
PG_PORT="${FIRSTCALL_PG_PORT:-55432}"
PG_APP_USER="${FIRSTCALL_PG_USER:-firstcall}"
PG_APP_PASSWORD="${FIRSTCALL_PG_PASSWORD:-firstcall}"   # development only
# One database per service.
PG_DATABASES="${FIRSTCALL_PG_DATABASES:-firstcall_router firstcall_knowledge firstcall_notifier}"
PG_SUPERUSER=postgres   # initdb -U; reached only over the unix socket (trust)
START_TIMEOUT="${FIRSTCALL_PG_START_TIMEOUT:-30}"
# A quarter of the machine's memory, PostgreSQL's documented starting point for shared_buffers ("Resource
# Consumption"), not its compiled-in 128MB: the notifier's 1M-report window reads its newest index pages on
# every report, and each page outside the buffers is a system call
# (docs/decisions/0026-postgresql-shared-buffers.md). Memory is used as pages are read, so a test run stays small.
default_shared_buffers() {
    local kb limit
    kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo 2>/dev/null || true)
    # In a container the cgroup's limit, not the host's memory, is what the cluster may use.
    limit=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || true)
    if [[ $kb =~ ^[0-9]+$ && $limit =~ ^[0-9]+$ ]] && (( limit / 1024 < kb )); then
        kb=$(( limit / 1024 ))
    fi
    if [[ $kb =~ ^[0-9]+$ ]] && (( kb / 4096 > 128 )); then
        echo "$(( kb / 4096 ))MB"
    else
        echo 128MB
    fi
}
PG_SHARED_BUFFERS="${FIRSTCALL_PG_SHARED_BUFFERS:-$(default_shared_buffers)}"

usage() {
    cat <<EOF
Usage: deploy/postgres.sh <command> [args]

Runs a PostgreSQL cluster owned by this checkout on ${PG_HOST}:${PG_PORT}.

Commands:
  install        install the Debian PostgreSQL server packages if missing
                 (apt-get; as root, or through sudo)
  start          initdb once, start, wait until ready, then make sure role
                 '${PG_APP_USER}' and databases exist; prints connection URLs
  stop           stop the cluster (fast shutdown); no-op if stopped
  status         exit 0 if running and accepting connections, 1 otherwise
  psql [args]    psql as '${PG_APP_USER}' over TCP with the password, database
                 firstcall_router unless you pass -d/--dbname
  psql --superuser [args]
                 psql as '${PG_SUPERUSER}' over the unix socket
  reset          stop and delete the cluster's data
  urls           print the connection URLs
  help, --help   this text

Environment (current value):
  FIRSTCALL_PG_PORT           ${PG_PORT}
  FIRSTCALL_PG_DATA           data folder (default <repo>/var/postgres)
  FIRSTCALL_PG_USER           ${PG_APP_USER}
  FIRSTCALL_PG_PASSWORD       (development password, default 'firstcall')
  FIRSTCALL_PG_DATABASES      ${PG_DATABASES}
  FIRSTCALL_PG_START_TIMEOUT  ${START_TIMEOUT} (seconds)
  FIRSTCALL_PG_SHARED_BUFFERS ${PG_SHARED_BUFFERS} (applied at start; default a quarter of memory)
  FIRSTCALL_PG_BIN            server bin folder (default: newest /usr/lib/postgresql/*/bin)

When run as root, initdb/pg_ctl/postgres run as the 'postgres' system user,
which then owns the data folder.
EOF
}

# ------------------------------------------------------------ locations
# PG_DATA: the cluster (initdb -D). PG_RUN: beside it, owned by the same OS
# user: server log and, normally, the unix socket.
resolve_locations() {
    local default_data="${FIRSTCALL_VAR}/postgres"
    if [[ -n ${FIRSTCALL_PG_DATA:-} ]]; then
        PG_DATA="$(realpath -m "$FIRSTCALL_PG_DATA")"
        PG_DATA_EXPLICIT=1
    else
        PG_DATA="$default_data"
        PG_DATA_EXPLICIT=""
    fi
    PG_RUN="${PG_DATA}-run"
    PG_SOCKET_DIR="$PG_RUN"
    # A unix socket path is limited to 107 bytes; a deep checkout (CI
    # workspaces) can exceed it. Then put the socket under /tmp instead.
    local sock="${PG_SOCKET_DIR}/.s.PGSQL.${PG_PORT}"
    if (( ${#sock} > 100 )); then
        PG_SOCKET_DIR="/tmp/firstcall-pg-$(short_hash "$PG_DATA")"
    fi
    PG_LOG="${PG_RUN}/server.log"
}

# When root, the postgres user must be able to reach the data folder. A
# checkout under e.g. /root (mode 700) is not reachable; then the cluster
# lives in /var/tmp/firstcall-pg-<hash of the repo path> instead.
# Only needed for commands that create things.
prepare_locations() {
    [[ -n $PG_OS_USER ]] || { mkdir -p "$PG_RUN" "$PG_SOCKET_DIR"; return 0; }
    getent passwd "$PG_OS_USER" >/dev/null \
        || die "system user '$PG_OS_USER' does not exist (it comes with Debian's postgresql-common: run 'deploy/postgres.sh install')"
    local parent
    parent="$(dirname "$PG_DATA")"
    mkdir -p "$parent"
    if ! pg_can_enter "$parent"; then
        [[ -z $PG_DATA_EXPLICIT ]] \
            || die "user '$PG_OS_USER' cannot reach $parent (FIRSTCALL_PG_DATA); pick a folder it can traverse"
        local fallback
        fallback="/var/tmp/firstcall-pg-$(short_hash "$FIRSTCALL_ROOT")"
        warn "user '$PG_OS_USER' cannot traverse to $parent (a parent folder is not world-executable);"
        warn "using $fallback for the cluster instead"
        PG_DATA="${fallback}/data"
        PG_RUN="${fallback}/run"
        PG_SOCKET_DIR="$PG_RUN"
        PG_LOG="${PG_RUN}/server.log"
        mkdir -p "$fallback"
        chmod 755 "$fallback"
    fi
    mkdir -p "$PG_DATA" "$PG_RUN" "$PG_SOCKET_DIR"
    chown "$PG_OS_USER:" "$PG_DATA" "$PG_RUN" "$PG_SOCKET_DIR"
    chmod 700 "$PG_DATA"
}

# Where an existing fallback cluster is, for commands that only look
# (status/stop/psql) and must not create anything.
find_existing_locations() {
    if [[ -n $PG_OS_USER && -z $PG_DATA_EXPLICIT && ! -e ${PG_DATA}/PG_VERSION ]]; then
        local fallback
        fallback="/var/tmp/firstcall-pg-$(short_hash "$FIRSTCALL_ROOT")"
        if [[ -e ${fallback}/data/PG_VERSION ]]; then
            PG_DATA="${fallback}/data"
            PG_RUN="${fallback}/run"
            PG_SOCKET_DIR="$PG_RUN"
            PG_LOG="${PG_RUN}/server.log"
        fi
    fi
}

# ------------------------------------------------------------ binaries
# PG_BIN: the server bin folder. An existing cluster must be run by its own
# major version; a new one uses the newest installed.
find_pg_bin() {
    if [[ -n ${FIRSTCALL_PG_BIN:-} ]]; then
        PG_BIN="$FIRSTCALL_PG_BIN"
    elif [[ -r ${PG_DATA:-/nonexistent}/PG_VERSION ]]; then
        PG_BIN="/usr/lib/postgresql/$(cat "${PG_DATA}/PG_VERSION")/bin"
    else
        # shellcheck disable=SC2012  # plain version-number folder names
        PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
    fi
    [[ -n $PG_BIN && -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl && -x $PG_BIN/postgres ]]
}

require_pg_bin() {
    find_pg_bin && return 0
    if [[ -r ${PG_DATA}/PG_VERSION ]]; then
        die "the cluster in $PG_DATA is PostgreSQL $(cat "${PG_DATA}/PG_VERSION") but its server binaries are missing in $PG_BIN; install postgresql-$(cat "${PG_DATA}/PG_VERSION") or 'deploy/postgres.sh reset'"
    fi
    die "PostgreSQL server binaries not found (looked for initdb, pg_ctl, postgres under /usr/lib/postgresql/*/bin). Run 'deploy/postgres.sh install'."
}

# Client tools (psql, pg_isready): the ones next to the server, else PATH.
client() {
    local tool=$1; shift
    if [[ -n ${PG_BIN:-} && -x $PG_BIN/$tool ]]; then "$PG_BIN/$tool" "$@"
    elif command -v "$tool" >/dev/null 2>&1; then "$tool" "$@"
    else die "$tool not found; run 'deploy/postgres.sh install'"
    fi
}

# ------------------------------------------------------------ commands
cmd_install() {
    if find_pg_bin; then
        log "PostgreSQL server binaries present: $PG_BIN"
        return 0
    fi
    need_cmd apt-get "This script installs PostgreSQL on Debian/Ubuntu only; install the PostgreSQL server yourself and set FIRSTCALL_PG_BIN."
    local -a sudo=()
    if ! is_root; then
        command -v sudo >/dev/null 2>&1 \
            || die "PostgreSQL is not installed and you are not root (and there is no sudo): ask for 'apt-get install postgresql'"
        sudo=(sudo)
    fi
    local t0
    t0=$(now_ms)
    log "installing PostgreSQL from the Debian packages (apt-get)..."
    # Debian's postinst creates a system cluster "main" on 5432 and, where
    # services may start, starts it. We never use it; ours is separate.
    # (Docker-style images forbid service starts with /usr/sbin/policy-rc.d.)
    # apt/dpkg chatter goes to a log, shown when something fails.
    mkdir -p "${FIRSTCALL_VAR}/log"
    local apt_log="${FIRSTCALL_VAR}/log/apt-postgresql.log"
    if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update \
           && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
                  apt-get install -y --no-install-recommends postgresql; } >"$apt_log" 2>&1; then
        tail -n 30 "$apt_log" >&2
        die "installing PostgreSQL with apt-get failed (full output: $apt_log)"
    fi
    find_pg_bin || die "postgresql installed, but no initdb/pg_ctl/postgres under /usr/lib/postgresql/*/bin"
    log "installed PostgreSQL ($PG_BIN) in $(elapsed "$t0")"
}

# Running = the postmaster named in postmaster.pid is alive and really is
# the postmaster of this data folder. Not `pg_ctl status`: that counts a
# zombie as running, and without an init that reaps promptly (containers) a
# killed postmaster stays a zombie for a while.
postmaster_pid() { head -n1 "${PG_DATA}/postmaster.pid" 2>/dev/null; }
pg_running() {
    local pid
    pid="$(postmaster_pid)" || return 1
    pid_alive "$pid" && pid_cmdline_has "$pid" "$PG_DATA"
}

pg_ready() { client pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 2>/dev/null; }

# After a crash (kill -9, machine reset) postmaster.pid and the socket's
# .lock file stay behind. If the pid they name is gone, a zombie or reused,
# PostgreSQL refuses to start ("lock file ... already exists": it counts a
# zombie as alive), so remove them; they only guard a postmaster that is dead.
remove_stale_lock_files() {
    local pid sock_lock="${PG_SOCKET_DIR}/.s.PGSQL.${PG_PORT}.lock"
    if pid="$(postmaster_pid)" && ! pg_running; then
        warn "removing stale postmaster.pid (pid ${pid} is not running: crashed or killed earlier?)"
        rm -f "${PG_DATA}/postmaster.pid"
    fi
    if [[ -f $sock_lock ]]; then
        pid="$(head -n1 "$sock_lock" 2>/dev/null || true)"
        pid="${pid#-}"   # written as -PID by some versions
        if ! pid_alive "$pid" || ! pid_cmdline_has "$pid" postgres; then
            rm -f "$sock_lock" "${PG_SOCKET_DIR}/.s.PGSQL.${PG_PORT}"
        fi
    fi
}

init_cluster_once() {
    [[ -f ${PG_DATA}/PG_VERSION ]] && return 0
    if [[ -n $(ls -A "$PG_DATA" 2>/dev/null) ]]; then
        die "$PG_DATA is not empty but holds no PostgreSQL cluster; move it away or 'deploy/postgres.sh reset'"
    fi
    log "initdb $PG_DATA ($("$PG_BIN/postgres" --version))"
    # --no-locale: C collation, no dependency on generated system locales.
    # trust on the unix socket (only reachable locally, for setup/admin);
    # passwords (scram) over TCP, as the services connect.
    # --no-sync: the cluster runs with fsync=off anyway.
    run_as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" \
        --encoding=UTF8 --no-locale \
        --auth-local=trust --auth-host=scram-sha-256 \
        --no-sync --no-instructions >/dev/null \
        || die "initdb failed"
    # Our settings live in firstcall.conf, rewritten on every start.
    echo "include_if_exists = 'firstcall.conf'" >>"${PG_DATA}/postgresql.conf"
}

write_config() {
    local conf="${PG_DATA}/firstcall.conf"
    cat >"$conf" <<EOF
# Written by deploy/postgres.sh on every start; edit the script, not this file.
listen_addresses = '${PG_HOST}'
port = ${PG_PORT}
unix_socket_directories = '${PG_SOCKET_DIR}'
max_connections = 200
shared_buffers = ${PG_SHARED_BUFFERS}
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '

# Development/test cluster only: no durability. A crash of the machine may
# corrupt the data - then 'deploy/postgres.sh reset'. Much faster tests.
# synchronous_commit = off acknowledges a commit before its WAL is written:
# a crash of the server (not only of the machine) loses the last commits
# that the services already acted on (a 201 for a ticket that is gone; a
# handler's effects gone after its Kafka offset was committed, lost for
# good). Production must keep the default, on. The fault tier (tests/faults)
# turns it on with ALTER SYSTEM for that reason (docs/decisions/0003).
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    if [[ -n $PG_OS_USER ]]; then chown "$PG_OS_USER:" "$conf"; fi
    chmod 600 "$conf"
}

# Role and databases, created when missing (safe on every start). Runs as the
# superuser over the unix socket; psql variables quote names and password.
# The role may CHECKPOINT (PostgreSQL 15+): bench/notifier_scale.py writes a
# bulk load out before it measures.
ensure_role_and_databases() {
    local dbs_sql="" d
    for d in $PG_DATABASES; do
        [[ $d =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "invalid database name '$d' in FIRSTCALL_PG_DATABASES"
        dbs_sql+="${dbs_sql:+,}'$d'"
    done
    client psql -X -q -v ON_ERROR_STOP=1 \
        -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres \
        -v user="$PG_APP_USER" -v password="$PG_APP_PASSWORD" >/dev/null <<SQL \
        || die "could not create role '$PG_APP_USER' / databases"
SELECT format('CREATE ROLE %I', :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
ALTER ROLE :"user" WITH LOGIN CREATEDB PASSWORD :'password';
SELECT format('GRANT pg_checkpoint TO %I', :'user')
 WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_checkpoint') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', d, :'user')
  FROM unnest(ARRAY[${dbs_sql}]) AS d
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d) \gexec
SQL
}

print_urls() {
    local d
    for d in $PG_DATABASES; do
        echo "postgresql+asyncpg://${PG_APP_USER}:${PG_APP_PASSWORD}@${PG_HOST}:${PG_PORT}/${d}"
    done
}

cmd_start() {
    require_pg_bin
    prepare_locations
    local t0
    t0=$(now_ms)
    if pg_running; then
        pg_ready || wait_until "$START_TIMEOUT" 0.2 pg_ready \
            || die "the cluster in $PG_DATA runs but does not accept connections on ${PG_HOST}:${PG_PORT}; see $PG_LOG"
        log "already running on ${PG_HOST}:${PG_PORT} (data $PG_DATA)"
    else
        tcp_open "$PG_HOST" "$PG_PORT" \
            && die "port ${PG_PORT} is already in use by another process; set FIRSTCALL_PG_PORT"
        init_cluster_once
        remove_stale_lock_files
        write_config
        log "starting PostgreSQL on ${PG_HOST}:${PG_PORT} (data $PG_DATA, log $PG_LOG)"
        if ! run_as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" \
                -w -t "$START_TIMEOUT" -s >/dev/null; then
            log "---- last 30 lines of $PG_LOG ----"
            tail -n 30 "$PG_LOG" >&2 || true
            die "PostgreSQL did not start"
        fi
        wait_until "$START_TIMEOUT" 0.2 pg_ready || {
            tail -n 30 "$PG_LOG" >&2 || true
            die "PostgreSQL started but pg_isready fails on ${PG_HOST}:${PG_PORT} after ${START_TIMEOUT}s"
        }
        log "ready after $(elapsed "$t0")"
    fi
    ensure_role_and_databases
    print_urls
}

cmd_stop() {
    find_existing_locations
    if ! find_pg_bin || [[ ! -f ${PG_DATA}/PG_VERSION ]] || ! pg_running; then
        log "not running (data $PG_DATA)"
        return 0
    fi
    local t0
    t0=$(now_ms)
    run_as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 -s \
        || die "pg_ctl stop failed; see $PG_LOG"
    log "stopped after $(elapsed "$t0")"
}

cmd_status() {
    find_existing_locations
    if find_pg_bin && [[ -f ${PG_DATA}/PG_VERSION ]] && pg_running; then
        if pg_ready; then
            echo "postgres: running on ${PG_HOST}:${PG_PORT} (PostgreSQL $(cat "${PG_DATA}/PG_VERSION"), data ${PG_DATA})"
            return 0
        fi
        echo "postgres: server process up but not accepting connections on ${PG_HOST}:${PG_PORT} (see ${PG_LOG})"
        return 1
    fi
    echo "postgres: not running (${PG_HOST}:${PG_PORT}, data ${PG_DATA})"
    return 1
}

cmd_psql() {
    find_existing_locations
    find_pg_bin || true
    if [[ ${1:-} == --superuser ]]; then
        shift
        client psql -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres "$@"
        return
    fi
    # libpq environment instead of a URL, so -d/-U/-h given by the caller win.
    PGHOST="$PG_HOST" PGPORT="$PG_PORT" PGUSER="$PG_APP_USER" \
        PGPASSWORD="$PG_APP_PASSWORD" PGDATABASE="${PG_DATABASES%% *}" \
        client psql "$@"
}

cmd_reset() {
    cmd_stop
    find_existing_locations
    local d
    for d in "$PG_DATA" "$PG_RUN" "$PG_SOCKET_DIR"; do
        case "$d" in
            / | "$FIRSTCALL_ROOT" | "$FIRSTCALL_VAR" | /tmp | /var/tmp | "${HOME:-/}" | "")
                die "refusing to delete '$d'" ;;
        esac
    done
    rm -rf "$PG_DATA" "$PG_RUN" "$PG_SOCKET_DIR"
    # An emptied fallback folder (see prepare_locations) goes too.
    if [[ $PG_DATA == /var/tmp/firstcall-pg-*/data ]]; then rmdir "$(dirname "$PG_DATA")" 2>/dev/null || true; fi
    log "deleted $PG_DATA"
}

# ------------------------------------------------------------ main
main() {
    local cmd="${1:-help}"
    (( $# )) && shift
    case "$cmd" in
        help | -h | --help) usage; return 0 ;;
    esac
    if ! [[ $PG_PORT =~ ^[0-9]+$ ]] || (( PG_PORT < 1 || PG_PORT > 65535 )); then
        die "invalid FIRSTCALL_PG_PORT '$PG_PORT'"
    fi
    if ! [[ $PG_SHARED_BUFFERS =~ ^[0-9]+(kB|MB|GB)$ ]]; then
        die "invalid FIRSTCALL_PG_SHARED_BUFFERS '$PG_SHARED_BUFFERS' (a size such as 128MB or 4GB)"
    fi
    resolve_locations
    case "$cmd" in
        install) cmd_install ;;
        start)   cmd_start ;;
        stop)    cmd_stop ;;
        status)  cmd_status ;;
        psql)    cmd_psql "$@" ;;
        urls)    print_urls ;;
        reset)   cmd_reset ;;
        *) usage >&2; die "unknown command '$cmd'" ;;
    esac
}

main "$@"
