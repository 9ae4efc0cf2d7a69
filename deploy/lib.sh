# shellcheck shell=bash disable=SC2034  # variables used by the sourcing scripts
# Common helpers for the deploy/*.sh scripts. Source it, don't run it:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Everything the scripts create lives inside the repository, in two
# git-ignored folders, so a clean clone (CI) and a developer checkout behave
# the same and nothing leaks into $HOME or /etc:
#   .cache/  downloads (Maven repository, Kafka jars)    - safe to keep
#   var/     data, logs, pid files of running services   - `reset` wipes

# Resolve the repository root from this file's location (not from $PWD), so
# the scripts work from any directory and through symlinks.
FIRSTCALL_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
FIRSTCALL_CACHE="${FIRSTCALL_ROOT}/.cache"
FIRSTCALL_VAR="${FIRSTCALL_ROOT}/var"
FIRSTCALL_DEPLOY="${FIRSTCALL_ROOT}/deploy"

# ---------------------------------------------------------------- logging
# Messages go to stderr so that stdout stays clean for values a caller may
# want to capture (bootstrap address, connection URLs).
_fc_tag="${FIRSTCALL_LOG_TAG:-$(basename "$0" .sh)}"
log()  { printf '[%s] %s\n' "$_fc_tag" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$_fc_tag" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$_fc_tag" "$*" >&2; exit 1; }

# Milliseconds since the epoch, for "took N s" messages.
now_ms() { date +%s%3N; }
elapsed() { # elapsed <start_ms> -> "1.23s"
    local ms=$(( $(now_ms) - $1 ))
    printf '%d.%02ds' $((ms / 1000)) $(((ms % 1000) / 10))
}

is_root() { [[ $(id -u) -eq 0 ]]; }

need_cmd() { # need_cmd <command> <hint>
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH. $2"
}

# ---------------------------------------------------------------- waiting
# wait_until <timeout_s> <interval_s> <command...>
# Runs the command until it succeeds or the timeout passes (returns 1).
wait_until() {
    local timeout=$1 interval=$2; shift 2
    local deadline=$(( $(date +%s) + timeout ))
    while true; do
        if "$@"; then return 0; fi
        if (( $(date +%s) >= deadline )); then return 1; fi
        sleep "$interval"
    done
}

# tcp_open <host> <port>: true when something accepts TCP connections there.
# Uses bash's /dev/tcp so it needs no nc/ss; `timeout` guards against a
# filtered port hanging the connect.
tcp_open() {
    # shellcheck disable=SC2016  # $1/$2 expand in the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# ---------------------------------------------------------------- processes
# pid_alive <pid>: the process exists (and is not a zombie).
pid_alive() {
    local pid=$1
    [[ -n $pid && $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # A zombie still answers kill -0; treat it as dead.
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}

# pid_cmdline_has <pid> <text>: the process's command line contains <text>.
# Guards against a stale pid file whose pid was reused by another process
# (e.g. after a machine restart) - we must never signal a stranger.
pid_cmdline_has() {
    [[ -r /proc/$1/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# stop_pid <pid> <timeout_s> <name>: SIGTERM, wait, then SIGKILL.
stop_pid() {
    local pid=$1 timeout=$2 name=$3
    kill -TERM "$pid" 2>/dev/null || return 0
    if wait_until "$timeout" 0.2 _pid_gone "$pid"; then return 0; fi
    warn "$name (pid $pid) did not exit within ${timeout}s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 0.2 _pid_gone "$pid" || die "$name (pid $pid) survived SIGKILL"
}
_pid_gone() { ! pid_alive "$1"; }

# short_hash <text>: 10 hex chars, to derive per-checkout names outside the repo.
short_hash() { printf '%s' "$1" | sha256sum | cut -c1-10; }

# ---------------------------------------------------------------- postgres user
# PostgreSQL refuses to run as root. When we are root, initdb/pg_ctl run as
# the `postgres` system user (created by Debian's postgresql-common); as a
# normal developer they simply run as that developer.
PG_OS_USER=""
if is_root; then PG_OS_USER="${FIRSTCALL_PG_OS_USER:-postgres}"; fi

# run_as_pg <command...>: run as the postgres OS user when root, else as self.
# `cd /` first: root's cwd (e.g. /root) is usually not readable by postgres,
# which would make initdb/pg_ctl print "could not change directory" noise.
run_as_pg() {
    if [[ -n $PG_OS_USER ]]; then
        (cd / && runuser -u "$PG_OS_USER" -- "$@")
    else
        "$@"
    fi
}

# pg_can_enter <dir>: the postgres OS user can traverse into <dir>.
pg_can_enter() {
    run_as_pg test -x "$1" -a -r "$1"
}
