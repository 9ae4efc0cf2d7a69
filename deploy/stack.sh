#!/usr/bin/env bash
# The whole local stack for development and tests: PostgreSQL (postgres.sh),
# one Kafka broker (kafka.sh) and Request Tracker, the helpdesk the bridge
# talks to (rt.sh). See --help.
set -euo pipefail
FIRSTCALL_LOG_TAG=stack
# shellcheck source=deploy/lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

KAFKA_PORT="${FIRSTCALL_KAFKA_PORT:-9092}"
PG_PORT="${FIRSTCALL_PG_PORT:-55432}"
PG_USER="${FIRSTCALL_PG_USER:-firstcall}"
PG_PASSWORD="${FIRSTCALL_PG_PASSWORD:-firstcall}"
STACK_ENV="${FIRSTCALL_VAR}/stack.env"

usage() {
    cat <<EOF
Usage: deploy/stack.sh <command>

  up      install (if needed) and start PostgreSQL, fetch (if needed) and start
          Kafka, install (if needed) and start Request Tracker; no-op for what
          already runs. Writes var/stack.env (mode 600: it holds RT's token) and
          prints the environment the services need.
  down    stop Request Tracker, Kafka and PostgreSQL (data is kept; see the
          'reset' command of deploy/rt.sh, deploy/kafka.sh and deploy/postgres.sh
          to wipe it)
  status  one line per service; exit 0 only if all three run
  env     print the environment variables (as in var/stack.env)

Use it from a shell with:  deploy/stack.sh up && source var/stack.env

Ports and the rest come from the variables that deploy/kafka.sh,
deploy/postgres.sh and deploy/rt.sh document (FIRSTCALL_KAFKA_PORT,
FIRSTCALL_PG_PORT, FIRSTCALL_RT_PORT, ...).
EOF
}

# The services substitute {service} themselves (router, knowledge, notifier).
stack_env() {
    cat <<EOF
export FIRSTCALL_BUS=kafka
export FIRSTCALL_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT}
export FIRSTCALL_DATABASE_URL='postgresql+asyncpg://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/firstcall_{service}'
EOF
    # FIRSTCALL_HELPDESK_RT_URL and FIRSTCALL_HELPDESK_RT_TOKEN, once RT has been started here.
    "${FIRSTCALL_DEPLOY}/rt.sh" env 2>/dev/null || true
}

# What `up` shows: the environment without the token's value.
stack_env_shown() {
    stack_env | sed -E "s|^(export FIRSTCALL_HELPDESK_RT_TOKEN=).*|\1...  # in ${STACK_ENV#"$FIRSTCALL_ROOT"/}|"
}

write_env() {
    mkdir -p "$FIRSTCALL_VAR"
    rm -f "${STACK_ENV}.tmp"
    (umask 077 && : >"${STACK_ENV}.tmp")
    {
        echo "# Written by deploy/stack.sh up. Use: source var/stack.env"
        stack_env
    } >"${STACK_ENV}.tmp"
    mv "${STACK_ENV}.tmp" "$STACK_ENV"
}

cmd_up() {
    local t0
    t0=$(now_ms)
    "${FIRSTCALL_DEPLOY}/postgres.sh" install
    "${FIRSTCALL_DEPLOY}/postgres.sh" start >/dev/null
    "${FIRSTCALL_DEPLOY}/kafka.sh" start >/dev/null
    "${FIRSTCALL_DEPLOY}/rt.sh" start >/dev/null
    write_env
    log "stack up in $(elapsed "$t0"); environment written to ${STACK_ENV#"$FIRSTCALL_ROOT"/}:"
    stack_env_shown
}

cmd_down() {
    # RT and Kafka first: the services depend on all three, nothing depends on RT or Kafka.
    local rc=0
    "${FIRSTCALL_DEPLOY}/rt.sh" stop || rc=1
    "${FIRSTCALL_DEPLOY}/kafka.sh" stop || rc=1
    "${FIRSTCALL_DEPLOY}/postgres.sh" stop || rc=1
    return "$rc"
}

cmd_status() {
    local rc=0
    "${FIRSTCALL_DEPLOY}/postgres.sh" status || rc=1
    "${FIRSTCALL_DEPLOY}/kafka.sh" status || rc=1
    "${FIRSTCALL_DEPLOY}/rt.sh" status || rc=1
    return "$rc"
}

case "${1:-help}" in
    up)     cmd_up ;;
    down)   cmd_down ;;
    status) cmd_status ;;
    env)    stack_env ;;
    help | -h | --help) usage ;;
    *) usage >&2; die "unknown command '${1}'" ;;
esac
