#!/usr/bin/env bash
# Local Apache Kafka (KRaft mode, one combined broker+controller node) for
# development and tests, run straight from Maven Central jars: no tarball,
# no Docker, no system service. See `deploy/kafka.sh --help`.
set -euo pipefail
FIRSTCALL_LOG_TAG=kafka
# shellcheck source=deploy/lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

# ------------------------------------------------------------ configuration
KAFKA_VERSION="${FIRSTCALL_KAFKA_VERSION:-4.1.1}"
SCALA_BINARY_VERSION=2.13
KAFKA_HOST=127.0.0.1
KAFKA_PORT="${FIRSTCALL_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${FIRSTCALL_KAFKA_CONTROLLER_PORT:-9093}"
# One folder per broker, keyed by port by default, so several brokers (the
# dev one and throwaway test ones) can run side by side.
KAFKA_DATA="${FIRSTCALL_KAFKA_DATA:-${FIRSTCALL_VAR}/kafka-${KAFKA_PORT}}"
KAFKA_HEAP="${FIRSTCALL_KAFKA_HEAP:--Xmx512m -Xms256m}"
# Serial GC: smallest footprint and quickest start for a 512 MB dev heap on a
# 2-core machine; pauses of a few ms do not matter here.
KAFKA_JVM_OPTS="${FIRSTCALL_KAFKA_JVM_OPTS:--XX:+UseSerialGC}"
KAFKA_TOOL_HEAP="${FIRSTCALL_KAFKA_TOOL_HEAP:--Xmx256m}"
START_TIMEOUT="${FIRSTCALL_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${FIRSTCALL_KAFKA_STOP_TIMEOUT:-30}"
JAVA="${FIRSTCALL_JAVA:-${JAVA_HOME:+${JAVA_HOME}/bin/}java}"

# Fixed cluster id (base64 of the 16 bytes "firstcall-kafka1"): the cluster
# is local and throwaway, and a fixed id keeps `format` reproducible.
CLUSTER_ID=Zmlyc3RjYWxsLWthZmthMQ

KAFKA_HOME="${FIRSTCALL_CACHE}/kafka/${KAFKA_VERSION}"
KAFKA_LIBS="${KAFKA_HOME}/libs"
FETCH_MARKER="${KAFKA_HOME}/.fetch-complete"
POM="${FIRSTCALL_DEPLOY}/kafka/pom.xml"
BROKER_LOG4J="${FIRSTCALL_DEPLOY}/kafka/log4j2.properties"
TOOLS_LOG4J="${FIRSTCALL_DEPLOY}/kafka/tools-log4j2.properties"

SERVER_PROPS="${KAFKA_DATA}/server.properties"
LOG_DIRS="${KAFKA_DATA}/data"
SERVER_LOG="${KAFKA_DATA}/server.log"     # written by log4j2 (see log4j2.properties)
CONSOLE_LOG="${KAFKA_DATA}/console.log"   # JVM stdout/stderr: crashes before log4j starts
PID_FILE="${KAFKA_DATA}/kafka.pid"
BOOTSTRAP="${KAFKA_HOST}:${KAFKA_PORT}"

usage() {
    cat <<EOF
Usage: deploy/kafka.sh <command> [args]

Runs a single-node Apache Kafka ${KAFKA_VERSION} (KRaft, broker+controller) on
${KAFKA_HOST} from jars fetched from Maven Central with mvn.

Commands:
  fetch             download the jars into .cache/kafka/<version>/libs (once)
  start             start the broker in the background and wait until it
                    answers API calls (fetches first if needed); no-op if running
  stop              stop it (SIGTERM, up to ${STOP_TIMEOUT}s, then SIGKILL); no-op if stopped
  restart           stop, then start
  status            exit 0 if running and answering, 1 otherwise
  logs [tail-args]  show the server log (default: last 100 lines; -f to follow)
  tool <class> [args...]
                    run a Kafka CLI tool class with the broker's classpath, e.g.
                      tool org.apache.kafka.tools.TopicCommand --bootstrap-server ${BOOTSTRAP} --list
                      tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server ${BOOTSTRAP} --topic t
                      tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server ${BOOTSTRAP} --topic t --from-beginning
                      tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server ${BOOTSTRAP} --list
  reset             stop the broker and delete its data folder
  help, --help      this text

Environment (current value):
  FIRSTCALL_KAFKA_VERSION          ${KAFKA_VERSION}
  FIRSTCALL_KAFKA_PORT             ${KAFKA_PORT}   (PLAINTEXT listener, clients)
  FIRSTCALL_KAFKA_CONTROLLER_PORT  ${KAFKA_CONTROLLER_PORT}   (KRaft controller listener)
  FIRSTCALL_KAFKA_DATA             ${KAFKA_DATA}
                                   (server.properties, data/, server.log, kafka.pid)
  FIRSTCALL_KAFKA_HEAP             ${KAFKA_HEAP}
  FIRSTCALL_KAFKA_JVM_OPTS         ${KAFKA_JVM_OPTS}
  FIRSTCALL_KAFKA_START_TIMEOUT    ${START_TIMEOUT}  (seconds)
  FIRSTCALL_KAFKA_STOP_TIMEOUT     ${STOP_TIMEOUT}  (seconds)
  FIRSTCALL_JAVA                   ${JAVA}  (Java 17+; default \$JAVA_HOME/bin/java or java)

Several brokers can run side by side with different ports, e.g.
  FIRSTCALL_KAFKA_PORT=19092 FIRSTCALL_KAFKA_CONTROLLER_PORT=19093 deploy/kafka.sh start
EOF
}

# ------------------------------------------------------------ checks
check_config() {
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        if ! [[ $p =~ ^[0-9]+$ ]] || (( p < 1 || p > 65535 )); then
            die "invalid port '$p' (FIRSTCALL_KAFKA_PORT / FIRSTCALL_KAFKA_CONTROLLER_PORT)"
        fi
    done
    [[ $KAFKA_PORT != "$KAFKA_CONTROLLER_PORT" ]] \
        || die "FIRSTCALL_KAFKA_PORT and FIRSTCALL_KAFKA_CONTROLLER_PORT must differ (both $KAFKA_PORT)"
    [[ $KAFKA_DATA = /* ]] || die "FIRSTCALL_KAFKA_DATA must be an absolute path (got '$KAFKA_DATA')"
}

check_java() {
    command -v "$JAVA" >/dev/null 2>&1 \
        || die "java not found ('$JAVA'). Install a JDK/JRE 17+ (Debian: apt-get install openjdk-17-jre-headless) or set FIRSTCALL_JAVA."
    local line major
    line="$("$JAVA" -version 2>&1 | head -n1)"
    major="$(sed -E 's/.*version "([0-9]+)(\.([0-9]+))?.*/\1 \3/' <<<"$line")"
    # Java 8 and older report "1.8.0_x".
    if [[ ${major%% *} == 1 ]]; then major="${major#* }"; else major="${major%% *}"; fi
    if ! [[ $major =~ ^[0-9]+$ ]] || (( major < 17 )); then
        die "Kafka ${KAFKA_VERSION} needs Java 17 or newer; '$JAVA' is: $line"
    fi
}

# ------------------------------------------------------------ fetch
# The marker records a hash of the pom, so editing the pom (e.g. adding a jar)
# triggers a new copy on the next fetch/start.
pom_hash() { sha256sum "$POM" | cut -c1-16; }
is_fetched() { [[ -f $FETCH_MARKER && "$(cat "$FETCH_MARKER")" == "$(pom_hash)" ]]; }

cmd_fetch() {
    if is_fetched; then
        log "Kafka ${KAFKA_VERSION} jars already in ${KAFKA_LIBS#"$FIRSTCALL_ROOT"/}"
        return 0
    fi
    need_cmd mvn "Install Maven (Debian: apt-get install maven)."
    check_java
    mkdir -p "$KAFKA_HOME"
    # Serialise concurrent fetches (two brokers started at once). The fd is
    # closed again before the broker starts so the JVM does not inherit it.
    local lock
    exec {lock}>"${FIRSTCALL_CACHE}/kafka/.fetch.lock"
    flock -w 900 "$lock" || die "timed out waiting for another fetch to finish"
    if is_fetched; then exec {lock}>&-; return 0; fi

    local t0 tmp
    t0=$(now_ms)
    tmp="${KAFKA_HOME}/libs.tmp.$$"
    rm -rf "$tmp"
    log "fetching Kafka ${KAFKA_VERSION} (Scala ${SCALA_BINARY_VERSION}) jars from Maven Central (first time: ~45 MB)..."
    # A repo-local Maven repository keeps everything inside the checkout
    # (.cache/m2) and away from ~/.m2. Output goes to a log, shown only on
    # failure (Debian's mvn prints stray colour codes even with -B -q).
    local mvn_log="${KAFKA_HOME}/fetch.log"
    if ! mvn -B -q -f "$POM" \
            -Dkafka.version="$KAFKA_VERSION" \
            -Dscala.binary.version="$SCALA_BINARY_VERSION" \
            -Dmaven.repo.local="${FIRSTCALL_CACHE}/m2" \
            dependency:copy-dependencies \
            -DincludeScope=runtime \
            -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
        sed 's/\x1b\[[0-9;]*m//g' "$mvn_log" | grep -v '^\s*$' | tail -n 40 >&2
        rm -rf "$tmp"
        die "mvn could not resolve Kafka ${KAFKA_VERSION} (output above, full log in $mvn_log). Check access to Maven Central, or pick another version with FIRSTCALL_KAFKA_VERSION (e.g. 4.0.1)."
    fi
    [[ -f $tmp/kafka_${SCALA_BINARY_VERSION}-${KAFKA_VERSION}.jar && -f $tmp/kafka-tools-${KAFKA_VERSION}.jar ]] \
        || die "fetch finished but kafka_${SCALA_BINARY_VERSION}-${KAFKA_VERSION}.jar / kafka-tools-${KAFKA_VERSION}.jar are missing in $tmp"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    pom_hash >"$FETCH_MARKER"
    exec {lock}>&-
    log "fetched $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$KAFKA_LIBS" | cut -f1)) in $(elapsed "$t0")"
}

ensure_fetched() { is_fetched || cmd_fetch; }

# ------------------------------------------------------------ broker state
# kafka_ping <port>: send a raw ApiVersions v0 request and expect a reply with
# our correlation id and error_code 0. That is a real Kafka API round trip,
# without paying ~1 s of JVM start for a CLI tool on every poll. A KRaft
# broker only opens its client listener once it has caught up with the
# metadata log and been unfenced, so an answer here means "ready".
#   request: size=12 | api_key=18 | api_version=0 | correlation_id=1 | client_id="fc"
#   reply:   size(4) | correlation_id=1 (4) | error_code=0 (2) | ...
kafka_ping() {
    local reply
    local -a bytes
    # shellcheck disable=SC2016  # $1/$2 expand in the inner bash
    reply="$(timeout 3 bash -c '
        exec 3<>"/dev/tcp/$1/$2" || exit 1
        printf "\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x01\x00\x02fc" >&3
        head -c 10 <&3 | od -An -tx1' _ "$KAFKA_HOST" "$1" 2>/dev/null)" || return 1
    read -r -a bytes <<<"$reply"
    [[ ${#bytes[@]} -eq 10 && "${bytes[*]:4:6}" == "00 00 00 01 00 00" ]]
}

# Our broker's JVM is recognised by its unique server.properties path.
broker_signature() { printf 'kafka.Kafka %s' "$SERVER_PROPS"; }

# broker_pid: print the pid of this data dir's broker, or fail. Trusts the
# pid file only if that pid really is our JVM; otherwise scans /proc, which
# also finds a broker whose pid file was lost.
broker_pid() {
    local pid="" sig p
    sig="$(broker_signature)"
    [[ -f $PID_FILE ]] && pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    if pid_alive "$pid" && pid_cmdline_has "$pid" "$sig"; then
        echo "$pid"; return 0
    fi
    # One grep over all command lines finds the candidates cheaply.
    # shellcheck disable=SC2013  # pids: one word each
    for p in $(grep -lsF -- "$SERVER_PROPS" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
        if pid_alive "$p" && pid_cmdline_has "$p" "$sig"; then
            echo "$p" >"$PID_FILE" 2>/dev/null || true
            echo "$p"; return 0
        fi
    done
    return 1
}

show_logs_on_failure() {
    if [[ -s $CONSOLE_LOG ]]; then
        log "---- last 20 lines of $CONSOLE_LOG (JVM stdout/stderr) ----"
        tail -n 20 "$CONSOLE_LOG" >&2
    fi
    if [[ -s $SERVER_LOG ]]; then
        log "---- last 50 lines of $SERVER_LOG ----"
        tail -n 50 "$SERVER_LOG" >&2
    else
        log "(no server log at $SERVER_LOG)"
    fi
}

# Controls on one data dir are serialised with a lock file, so two `start`s
# racing (parallel test workers) cannot launch two JVMs on the same data.
DATA_LOCK=""
lock_data_dir() {
    [[ -n $DATA_LOCK ]] && return 0   # already held (restart = stop + start)
    mkdir -p "$KAFKA_DATA"
    exec {DATA_LOCK}>"${KAFKA_DATA}/.control.lock"
    flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) "$DATA_LOCK" \
        || die "timed out waiting for another kafka.sh on $KAFKA_DATA"
}

# ------------------------------------------------------------ start
write_server_properties() {
    cat >"$SERVER_PROPS" <<EOF
# Generated by deploy/kafka.sh on every start; edit the script, not this file.
# Single-node KRaft cluster for development and tests (Kafka ${KAFKA_VERSION}).

process.roles=broker,controller
node.id=1
# Static quorum of one voter: survives a change of controller port, unlike a
# dynamic (--standalone) quorum whose voter endpoint is written into the log.
controller.quorum.voters=1@${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT},CONTROLLER://${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT

log.dirs=${LOG_DIRS}
# Topics are created explicitly by the project's own code, never implicitly
# by a producer or consumer that mistypes a name.
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=1
log.retention.hours=168

# One broker: every internal topic has replication factor 1.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# No 3 s wait for more members before the first rebalance: faster tests.
group.initial.rebalance.delay.ms=0
EOF
}

format_storage_once() {
    # Formatting writes meta.properties; never re-format existing data.
    [[ -f ${LOG_DIRS}/meta.properties ]] && return 0
    log "formatting KRaft storage in ${LOG_DIRS} (cluster id ${CLUSTER_ID})"
    mkdir -p "$LOG_DIRS"
    run_java_tool kafka.tools.StorageTool format \
        --cluster-id "$CLUSTER_ID" --config "$SERVER_PROPS" --ignore-formatted >&2 \
        || die "formatting the KRaft storage failed (see above)"
}

launch_broker() {
    local -a heap jvm
    read -r -a heap <<<"$KAFKA_HEAP"
    read -r -a jvm <<<"$KAFKA_JVM_OPTS"
    printf '\n==== %s starting Kafka %s on %s ====\n' "$(date -Is)" "$KAFKA_VERSION" "$BOOTSTRAP" >>"$CONSOLE_LOG"
    rm -f "$PID_FILE"
    # setsid: own session, so the broker survives the calling shell/terminal
    # ending and is not hit by Ctrl-C or a test runner killing its process
    # group (that is what nohup is for, and more). The small bash writes its
    # own pid and then execs java, so the pid file holds the JVM's pid.
    # {DATA_LOCK}>&- : the JVM must not inherit (and hold) the control lock.
    # shellcheck disable=SC2016  # $$, $1, $@ expand in the inner bash
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
        "$JAVA" "${heap[@]}" "${jvm[@]}" \
        -XX:+ExitOnOutOfMemoryError \
        -Djava.awt.headless=true \
        -Dkafka.logs.dir="$KAFKA_DATA" \
        -Dlog4j2.configurationFile="$BROKER_LOG4J" \
        -cp "${KAFKA_LIBS}/*" \
        kafka.Kafka "$SERVER_PROPS" \
        </dev/null >>"$CONSOLE_LOG" 2>&1 {DATA_LOCK}>&- &
    wait_until 5 0.05 test -s "$PID_FILE" || die "broker process did not start (see $CONSOLE_LOG)"
}

# wait_ready <pid>: until the broker answers, its JVM dies, or the timeout.
wait_ready() {
    local pid=$1 deadline=$(( $(date +%s) + START_TIMEOUT ))
    while ! kafka_ping "$KAFKA_PORT"; do
        if ! pid_alive "$pid"; then
            show_logs_on_failure
            die "the broker (pid $pid) exited during startup"
        fi
        if (( $(date +%s) >= deadline )); then
            show_logs_on_failure
            warn "the broker did not answer on ${BOOTSTRAP} within ${START_TIMEOUT}s (FIRSTCALL_KAFKA_START_TIMEOUT); stopping it"
            stop_pid "$pid" "$STOP_TIMEOUT" "Kafka broker"
            rm -f "$PID_FILE"
            die "Kafka did not become ready"
        fi
        sleep 0.2
    done
}

cmd_start() {
    lock_data_dir
    local pid t0
    if pid="$(broker_pid)"; then
        if kafka_ping "$KAFKA_PORT"; then
            log "already running (pid $pid) on ${BOOTSTRAP}"
            echo "$BOOTSTRAP"
            return 0
        fi
        log "broker process $pid exists but does not answer yet; waiting up to ${START_TIMEOUT}s"
        wait_ready "$pid"
        log "ready on ${BOOTSTRAP}"
        echo "$BOOTSTRAP"
        return 0
    fi
    # Not ours. Is somebody else on our ports? Kafka would die with a bind
    # error after ~5 s; say it clearly right away instead.
    tcp_open "$KAFKA_HOST" "$KAFKA_PORT" \
        && die "port ${KAFKA_PORT} is already in use by another process (not the broker of ${KAFKA_DATA}); set FIRSTCALL_KAFKA_PORT"
    tcp_open "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT" \
        && die "controller port ${KAFKA_CONTROLLER_PORT} is already in use by another process; set FIRSTCALL_KAFKA_CONTROLLER_PORT"

    ensure_fetched
    check_java
    t0=$(now_ms)
    mkdir -p "$KAFKA_DATA"
    write_server_properties
    format_storage_once
    log "starting Kafka ${KAFKA_VERSION} on ${BOOTSTRAP} (controller :${KAFKA_CONTROLLER_PORT}, data ${KAFKA_DATA})"
    launch_broker
    pid="$(cat "$PID_FILE")"
    wait_ready "$pid"
    log "ready on ${BOOTSTRAP} (pid $pid) after $(elapsed "$t0")"
    echo "$BOOTSTRAP"
}

# ------------------------------------------------------------ stop & co
cmd_stop() {
    local pid t0
    if [[ ! -d $KAFKA_DATA ]]; then   # never started here: create nothing
        log "not running (${BOOTSTRAP}, data ${KAFKA_DATA})"
        return 0
    fi
    lock_data_dir
    if ! pid="$(broker_pid)"; then
        rm -f "$PID_FILE"
        log "not running (${BOOTSTRAP}, data ${KAFKA_DATA})"
        return 0
    fi
    t0=$(now_ms)
    log "stopping broker pid $pid (${BOOTSTRAP})"
    stop_pid "$pid" "$STOP_TIMEOUT" "Kafka broker"
    rm -f "$PID_FILE"
    log "stopped after $(elapsed "$t0")"
}

cmd_status() {
    local pid
    if pid="$(broker_pid)"; then
        if kafka_ping "$KAFKA_PORT"; then
            echo "kafka: running on ${BOOTSTRAP} (pid ${pid}, Kafka ${KAFKA_VERSION}, data ${KAFKA_DATA})"
            return 0
        fi
        echo "kafka: process ${pid} alive but not answering on ${BOOTSTRAP} (starting, or stuck: see deploy/kafka.sh logs)"
        return 1
    fi
    if kafka_ping "$KAFKA_PORT"; then
        echo "kafka: not running from ${KAFKA_DATA}, but another Kafka answers on ${BOOTSTRAP}"
    else
        echo "kafka: not running (${BOOTSTRAP}, data ${KAFKA_DATA})"
    fi
    return 1
}

cmd_logs() {
    [[ -f $SERVER_LOG ]] || die "no server log yet at $SERVER_LOG"
    if (( $# == 0 )); then set -- -n 100; fi
    exec tail "$@" "$SERVER_LOG"
}

cmd_reset() {
    cmd_stop
    case "$KAFKA_DATA" in
        / | "$FIRSTCALL_ROOT" | "$FIRSTCALL_VAR" | "${HOME:-/}" | "")
            die "refusing to delete '$KAFKA_DATA'" ;;
    esac
    rm -rf "$KAFKA_DATA"
    log "deleted ${KAFKA_DATA}"
}

# run_java_tool <main-class> [args...]: a short-lived JVM on the Kafka
# classpath. C1-only JIT + serial GC: these tools live for a second or two.
run_java_tool() {
    local -a heap
    read -r -a heap <<<"$KAFKA_TOOL_HEAP"
    "$JAVA" "${heap[@]}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$TOOLS_LOG4J" \
        -cp "${KAFKA_LIBS}/*" "$@"
}

cmd_tool() {
    (( $# >= 1 )) || die "usage: deploy/kafka.sh tool <main-class> [args...]  (e.g. org.apache.kafka.tools.TopicCommand --bootstrap-server ${BOOTSTRAP} --list)"
    ensure_fetched
    check_java
    run_java_tool "$@"
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
        fetch)   cmd_fetch ;;
        start)   cmd_start ;;
        stop)    cmd_stop ;;
        restart) cmd_stop; cmd_start ;;
        status)  cmd_status ;;
        logs)    cmd_logs "$@" ;;
        tool)    cmd_tool "$@" ;;
        reset)   cmd_reset ;;
        *) usage >&2; die "unknown command '$cmd'" ;;
    esac
}

main "$@"
