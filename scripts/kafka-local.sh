#!/usr/bin/env bash
# kafka-local.sh - run a throw-away Apache Kafka KRaft cluster on 127.0.0.1.
#
# Usage:
#   kafka-local.sh up [--nodes N] [--dir DIR] [--racks] [--security [--reauth-ms MS]]
#       Start N combined broker+controller nodes (N = 1 or 3; 1..5 accepted)
#       on free loopback ports, wait until every broker is registered and
#       serves metadata, write DIR/bootstrap and print
#       "bootstrap=127.0.0.1:PORT[,...]" as the last stdout line.
#       --racks puts node N in rack "rack-N" (broker.rack) and turns on the
#       rack-aware replica selector, so that a consumer with client.rack=rack-N
#       fetches from node N wherever it holds a replica (KIP-392).
#       --security also opens, on every node, SSL, SASL_PLAINTEXT and SASL_SSL
#       listeners (SASL: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER with
#       the broker's unsecured JWT validator) with a CA and broker certificate
#       made here (DIR/tls/, SAN 127.0.0.1 and localhost), SCRAM users created
#       at format time and the StandardAuthorizer (super users admin and
#       ANONYMOUS, which the PLAINTEXT listeners use; no ACL means denied).
#       ACLs made after start: the user and the client certificate may do
#       anything (all topics, groups, transactional ids, the cluster); the
#       restricted user only topics, groups and transactional ids whose names
#       start with "restricted-".
#       Before the bootstrap line it prints ssl=, sasl_plaintext=, sasl_ssl=
#       (node 1), ca_pem=, client_cert_pem=, client_key_pem= (a client
#       certificate for mTLS; the SSL listeners request one but do not require
#       it), user=, password= (a user every password mechanism accepts; the
#       password is random per cluster), restricted_user=,
#       restricted_password=, restricted_prefix=, admin_user=,
#       admin_password= and admin_client_config= (a Java client config file
#       logging in as admin over SASL_PLAINTEXT, for the tools' --command-config
#       with --bootstrap-server at sasl_plaintext).
#       With krb5kdc and kadmin.local (Debian: krb5-kdc, krb5-admin-server)
#       it also runs an MIT Kerberos KDC for realm KWIRE.LOCAL on a loopback
#       port (DIR/krb5/, stopped by down), the SASL listeners offer GSSAPI as
#       kafka/127.0.0.1@KWIRE.LOCAL, and it prints kdc_port=, krb5_config=
#       (the krb5.conf clients use: KRB5_CONFIG), client_keytab=,
#       client_principal= (kwire@KWIRE.LOCAL, the user for the ACLs) and
#       service_name=. Without them it says so on stderr and offers no GSSAPI.
#       SASL sessions last --reauth-ms (connections.max.reauth.ms; default
#       KWIRE_KAFKA_REAUTH_MS or 10000; 0: no limit): clients re-authenticate
#       on the same connection before then (KIP-368), or the broker closes the
#       connection at its next request. The broker logs both (server.log:
#       "during re-authentication", "Disconnecting expired channel"). It prints
#       reauth_ms= before the bootstrap line.
#   kafka-local.sh down   [--dir DIR]     stop every node, remove DIR
#   kafka-local.sh kill N [--dir DIR]     SIGKILL node N (1-based)
#   kafka-local.sh start N [--dir DIR]    restart node N (same config and data)
#   kafka-local.sh status [--dir DIR]     "node N pid PID running|stopped"
#   kafka-local.sh fetch                  only download the broker jars
#   kafka-local.sh tool NAME [ARGS...]    run a Kafka CLI tool from the cache:
#       topics, console-producer, console-consumer, consumer-groups, configs,
#       metadata-quorum, broker-api-versions, get-offsets, storage, acls, or
#       a fully qualified main class name.
#
# Environment:
#   KWIRE_KAFKA_VERSION     broker version (default 4.4.0; 3.9.2 also tested)
#   KWIRE_KAFKA_CACHE       jar cache root (default ~/.cache/kwire); the jars
#                           live in $KWIRE_KAFKA_CACHE/kafka-VERSION/libs
#   KWIRE_KAFKA_QUORUM      static|dynamic KRaft quorum (default: dynamic for
#                           4.x - controller.quorum.bootstrap.servers, static
#                           for 3.x - controller.quorum.voters)
#   KWIRE_KAFKA_HEAP_OPTS   broker heap (default "-Xms128m -Xmx512m")
#   KWIRE_KAFKA_JVM_OPTS    extra broker JVM options
#   KWIRE_KAFKA_BROKER_PROPS extra server.properties lines (newline separated)
#   KWIRE_KAFKA_LOG_LEVEL   broker log level (default INFO; tools: WARN)
#   KWIRE_KAFKA_REAUTH_MS   --security: connections.max.reauth.ms (default 10000)
#   KWIRE_KAFKA_UP_TIMEOUT  seconds to wait for readiness (default 90)
#   KWIRE_KAFKA_STOP_TIMEOUT seconds between SIGTERM and SIGKILL (default 10)
#   KWIRE_KAFKA_TOOL_TIMEOUT seconds a `tool` run may take (default 300)
#   KWIRE_KAFKA_FETCH_TIMEOUT seconds Maven may take (default 900)
#   JAVA_HOME / MVN         java and mvn to use (default: from PATH)
#
# Layout of DIR (default /tmp/kwire-kafka):
#   cluster.env  bootstrap  node-N/{server.properties,pid,server.log,stdout.log,
#   format.log,data/}  with --security: security.env admin-client.properties
#   tls/{ca.pem,ca.key,
#   broker.pem (key + certificate, Kafka's PEM key store), client.pem,
#   client.key}  krb5/{krb5.conf,kdc.conf,broker.keytab,client.keytab,
#   kdc.pid,kdc.log,setup.log,principal*,stash}
set -euo pipefail

readonly DEFAULT_VERSION=4.4.0
readonly DEFAULT_DIR=/tmp/kwire-kafka

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly SUPPORT_DIR=$SCRIPT_DIR/kafka
readonly POM=$SUPPORT_DIR/pom.xml
readonly HELPER=$SUPPORT_DIR/kafka_helper.py

CACHE_ROOT=${KWIRE_KAFKA_CACHE:-$HOME/.cache/kwire}
UP_TIMEOUT=${KWIRE_KAFKA_UP_TIMEOUT:-90}
STOP_TIMEOUT=${KWIRE_KAFKA_STOP_TIMEOUT:-10}
TOOL_TIMEOUT=${KWIRE_KAFKA_TOOL_TIMEOUT:-300}
FETCH_TIMEOUT=${KWIRE_KAFKA_FETCH_TIMEOUT:-900}
HEAP_OPTS=${KWIRE_KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}
if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
  JAVA=$JAVA_HOME/bin/java
else
  JAVA=java
fi
MVN=${MVN:-mvn}

# Set from the version (set_version) or from DIR/cluster.env (load_cluster).
VERSION=
MAJOR=
LIBS=
LOGGING=
QUORUM=
# Set by load_cluster.
DIR=$DEFAULT_DIR
NODES=0
CLUSTER_ID=
BROKER_PORTS=()
CONTROLLER_PORTS=()
# With --security: the listener ports of each node, and the credentials.
SECURITY=0
SSL_PORTS=()
SASL_PORTS=()
SASL_SSL_PORTS=()
USER_NAME=kwire
USER_PASSWORD=
readonly CLIENT_CN=kwire-client
readonly RESTRICTED_USER=restricted
readonly RESTRICTED_PREFIX=restricted-
RESTRICTED_PASSWORD=
# The test KDC (--security, when MIT Kerberos is installed): its port, 0 when none.
readonly REALM=KWIRE.LOCAL
readonly KRB_SERVICE=kafka
readonly KRB_BROKER_PRINCIPAL=$KRB_SERVICE/127.0.0.1@$REALM
readonly KRB_CLIENT_PRINCIPAL=kwire@$REALM
KDC_PORT=0
ADMIN_PASSWORD=

log() { printf 'kafka-local: %s\n' "$*" >&2; }
die() { printf 'kafka-local: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# ---------------------------------------------------------------- versions

set_version() {
  VERSION=$1
  [[ $VERSION =~ ^([0-9]+)\.[0-9]+\.[0-9]+$ ]] \
    || die "KWIRE_KAFKA_VERSION must look like 4.4.0, got '$VERSION'"
  MAJOR=${BASH_REMATCH[1]}
  ((MAJOR >= 3)) || die "Kafka $VERSION has no usable KRaft mode (need 3.x or newer)"
  LIBS=$CACHE_ROOT/kafka-$VERSION/libs
  if ((MAJOR >= 4)); then
    LOGGING=log4j2   # Kafka 4 logs through Log4j 2
    QUORUM=${KWIRE_KAFKA_QUORUM:-dynamic}
  else
    LOGGING=reload4j # Kafka 3 still calls the Log4j 1 API
    QUORUM=${KWIRE_KAFKA_QUORUM:-static}
  fi
  [[ $QUORUM == static || $QUORUM == dynamic ]] \
    || die "KWIRE_KAFKA_QUORUM must be static or dynamic, got '$QUORUM'"
}

# Main class for a tool alias; the classes moved between 3.9 and 4.x.
tool_class() {
  case $1 in
    topics) echo org.apache.kafka.tools.TopicCommand ;;
    console-consumer) echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    consumer-groups) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    metadata-quorum) echo org.apache.kafka.tools.MetadataQuorumCommand ;;
    get-offsets) echo org.apache.kafka.tools.GetOffsetShell ;;
    storage) echo kafka.tools.StorageTool ;;
    acls)
      if ((MAJOR >= 4)); then echo org.apache.kafka.tools.AclCommand
      else echo kafka.admin.AclCommand; fi ;;
    console-producer)
      if ((MAJOR >= 4)); then echo org.apache.kafka.tools.ConsoleProducer
      else echo kafka.tools.ConsoleProducer; fi ;;
    broker-api-versions)
      if ((MAJOR >= 4)); then echo org.apache.kafka.tools.BrokerApiVersionsCommand
      else echo kafka.admin.BrokerApiVersionsCommand; fi ;;
    configs)
      if ((MAJOR >= 4)); then echo org.apache.kafka.tools.ConfigCommand
      else echo kafka.admin.ConfigCommand; fi ;;
    *.*) echo "$1" ;;
    *) die "unknown tool '$1' (see --help)" ;;
  esac
}

# ------------------------------------------------------------------- fetch

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2 (scripts/setup.sh installs it)"
}

# Copies the broker, the tools and a logging binding with all runtime jars
# from Maven Central into $LIBS, once; later calls find the marker and return.
ensure_libs() {
  local marker=$LIBS/.kwire-complete
  [[ -f $marker ]] && return 0
  need_cmd "$MVN" "Maven fetches the Kafka jars"
  local vdir=$CACHE_ROOT/kafka-$VERSION
  mkdir -p -- "$vdir"
  # Serialise concurrent fetches of the same version (parallel test jobs).
  local lock_fd
  exec {lock_fd}>"$vdir/.lock"
  flock -w "$FETCH_TIMEOUT" "$lock_fd" || die "timed out waiting for $vdir/.lock"
  if [[ -f $marker ]]; then
    exec {lock_fd}>&-
    return 0
  fi
  local stage=$vdir/libs.partial mvn_log=$vdir/mvn.log
  rm -rf -- "$stage"
  log "fetching Kafka $VERSION from Maven Central (log: $mvn_log)"
  local start=$SECONDS
  if ! timeout -k 10 "$FETCH_TIMEOUT" "$MVN" -B -ntp -f "$POM" \
      dependency:copy-dependencies \
      -Dkafka.version="$VERSION" -Dkafka.logging="$LOGGING" \
      -Dkafka.libs.dir="$stage" >"$mvn_log" 2>&1; then
    tail -n 30 -- "$mvn_log" >&2 || true
    die "mvn could not fetch org.apache.kafka:kafka_2.13:$VERSION (see $mvn_log)"
  fi
  [[ -f $stage/kafka_2.13-$VERSION.jar && -f $stage/kafka-tools-$VERSION.jar ]] \
    || die "mvn finished but $stage lacks kafka_2.13-$VERSION.jar (see $mvn_log)"
  touch -- "$stage/.kwire-complete"
  rm -rf -- "$LIBS"
  mv -- "$stage" "$LIBS"
  exec {lock_fd}>&-
  log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars into $LIBS in $((SECONDS - start)) s"
}

# --------------------------------------------------------------- java runs

log_opts() { # $1 = broker|tools, $2 = default level
  local level=${KWIRE_KAFKA_LOG_LEVEL:-$2}
  if [[ $LOGGING == log4j2 ]]; then
    printf '%s\n' "-Dlog4j2.configurationFile=$SUPPORT_DIR/log4j2-$1.xml" \
      "-Dkwire.kafka.log.level=$level"
  else
    printf '%s\n' "-Dlog4j.configuration=file:$SUPPORT_DIR/log4j-$1.properties" \
      "-Dkwire.kafka.log.level=$level"
  fi
}

# Short-lived JVM for a CLI tool: small heap, C1 only (fast start).
run_tool() { # $1 = timeout seconds, $2 = main class, rest = arguments
  local secs=$1 cls=$2
  shift 2
  local opts
  mapfile -t opts < <(log_opts tools WARN)
  timeout --foreground -k 5 "$secs" "$JAVA" -Xmx256m -XX:+UseSerialGC \
    -XX:TieredStopAtLevel=1 -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true "${opts[@]}" \
    -cp "$LIBS/*" "$cls" "$@"
}

# ------------------------------------------------------------ cluster state

node_dir() { printf '%s/node-%s' "$DIR" "$1"; }

bootstrap_string() {
  local i out=
  for ((i = 1; i <= NODES; i++)); do
    out+=${out:+,}127.0.0.1:${BROKER_PORTS[i - 1]}
  done
  printf '%s' "$out"
}

write_cluster_env() {
  {
    echo "version=$VERSION"
    echo "nodes=$NODES"
    echo "cluster_id=$CLUSTER_ID"
    echo "quorum=$QUORUM"
    echo "broker_ports=$(IFS=,; echo "${BROKER_PORTS[*]}")"
    echo "controller_ports=$(IFS=,; echo "${CONTROLLER_PORTS[*]}")"
    echo "security=$SECURITY"
    echo "ssl_ports=$(IFS=,; echo "${SSL_PORTS[*]}")"
    echo "sasl_plaintext_ports=$(IFS=,; echo "${SASL_PORTS[*]}")"
    echo "sasl_ssl_ports=$(IFS=,; echo "${SASL_SSL_PORTS[*]}")"
    echo "kdc_port=$KDC_PORT"
  } >"$DIR/cluster.env"
}

has_cluster() { [[ -f $DIR/cluster.env ]]; }

load_cluster() {
  has_cluster || die "no cluster in $DIR (run: $0 up --dir $DIR)"
  local key value version='' quorum=''
  while IFS='=' read -r key value; do
    case $key in
      version) version=$value ;;
      nodes) NODES=$value ;;
      cluster_id) CLUSTER_ID=$value ;;
      quorum) quorum=$value ;;
      broker_ports) IFS=, read -r -a BROKER_PORTS <<<"$value" ;;
      controller_ports) IFS=, read -r -a CONTROLLER_PORTS <<<"$value" ;;
      security) SECURITY=$value ;;
      ssl_ports) IFS=, read -r -a SSL_PORTS <<<"$value" ;;
      sasl_plaintext_ports) IFS=, read -r -a SASL_PORTS <<<"$value" ;;
      sasl_ssl_ports) IFS=, read -r -a SASL_SSL_PORTS <<<"$value" ;;
      kdc_port) KDC_PORT=$value ;;
    esac
  done <"$DIR/cluster.env"
  if [[ -z $version ]] || ! is_uint "$NODES" || ((${#BROKER_PORTS[@]} != NODES)); then
    die "$DIR/cluster.env is damaged"
  fi
  # The cluster keeps the version and quorum mode it was created with.
  KWIRE_KAFKA_QUORUM=$quorum set_version "$version"
}

# -------------------------------------------------------------- processes

# True when PID is a live (non-zombie) broker JVM of node $1 in $DIR.
pid_is_node() { # $1 = node, $2 = pid
  local pid=$2 cmdline state
  is_uint "$pid" || return 1
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmdline == *"kafka.Kafka $(node_dir "$1")/server.properties"* ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z && $state != X ]]
}

# Prints the pid of node $1 if it is running, else fails. Falls back to a
# process-table search when the pid file is missing or stale.
node_pid() {
  local n=$1 pid='' f
  f=$(node_dir "$n")/pid
  [[ -f $f ]] && pid=$(<"$f")
  if pid_is_node "$n" "$pid"; then
    echo "$pid"
    return 0
  fi
  for pid in $(pgrep -f -- "kafka[.]Kafka $(node_dir "$n")/server[.]properties" || true); do
    if pid_is_node "$n" "$pid"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

wait_gone() { # $1 = node, $2 = pid, $3 = seconds; true when it went away
  local deadline=$((SECONDS + $3))
  while pid_is_node "$1" "$2"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

start_node() {
  local n=$1 dir opts pid
  dir=$(node_dir "$n")
  mapfile -t opts < <(log_opts broker INFO)
  local -a heap extra=()
  read -r -a heap <<<"$HEAP_OPTS"
  [[ -n ${KWIRE_KAFKA_JVM_OPTS:-} ]] && read -r -a extra <<<"$KWIRE_KAFKA_JVM_OPTS"
  ((KDC_PORT == 0)) || extra+=("-Djava.security.krb5.conf=$DIR/krb5/krb5.conf")
  {
    echo "=== $(date -u +%FT%TZ) starting node $n (Kafka $VERSION)"
  } >>"$dir/stdout.log"
  # setsid: the broker gets its own session, so it outlives this script and
  # the caller's process group. exec keeps $! equal to the JVM's pid.
  (
    cd -- "$dir"
    exec setsid "$JAVA" "${heap[@]}" -XX:+UseSerialGC -XX:CICompilerCount=2 \
      -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
      -Dkafka.logs.dir="$dir" "${opts[@]}" "${extra[@]}" \
      -cp "$LIBS/*" kafka.Kafka "$dir/server.properties"
  ) </dev/null >>"$dir/stdout.log" 2>&1 &
  pid=$!
  sleep 0.3
  if ! pid_is_node "$n" "$pid"; then
    # setsid forked (caller ran us as a process-group leader): look it up.
    pid=$(node_pid "$n") || { dump_logs "$n"; die "node $n exited right after start"; }
  fi
  echo "$pid" >"$dir/pid"
  log "node $n started, pid $pid, broker 127.0.0.1:${BROKER_PORTS[n - 1]}"
}

dump_logs() {
  local n dir
  for n in "$@"; do
    dir=$(node_dir "$n")
    if [[ -s $dir/server.log ]]; then
      printf '\n----- %s (last 40 lines) -----\n' "$dir/server.log" >&2
      tail -n 40 -- "$dir/server.log" >&2 || true
    fi
    if [[ -s $dir/stdout.log ]]; then
      printf '\n----- %s (last 20 lines) -----\n' "$dir/stdout.log" >&2
      tail -n 20 -- "$dir/stdout.log" >&2 || true
    fi
  done
}

# Prints "controller=ID brokers=ID,..." from node $1's broker port.
probe() {
  python3 "$HELPER" metadata "127.0.0.1:${BROKER_PORTS[$1 - 1]}" 2 2>/dev/null
}

# Waits until each node in "$@" is running and its broker answers Metadata
# listing itself, and (with want_all=1) until every node sees all $NODES
# brokers. Fails with the logs' tails after $UP_TIMEOUT seconds.
wait_ready() { # $1 = want_all (0|1), rest = nodes
  local want_all=$1
  shift
  local deadline=$((SECONDS + UP_TIMEOUT)) n out ids all i pending
  local expect=
  for ((i = 1; i <= NODES; i++)); do expect+=${expect:+,}$i; done
  while true; do
    pending=()
    for n in "$@"; do
      if ! node_pid "$n" >/dev/null; then
        dump_logs "$n"
        die "node $n died while starting (logs: $(node_dir "$n"))"
      fi
      out=$(probe "$n") || { pending+=("$n"); continue; }
      ids=${out#*brokers=}
      all=0
      [[ $ids == "$expect" ]] && all=1
      if [[ ,$ids, != *",$n,"* || ${out%% *} == controller=-1 ]] \
          || ((want_all && !all)); then
        pending+=("$n")
      fi
    done
    ((${#pending[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      dump_logs "$@"
      die "node(s) ${pending[*]} not serving metadata after ${UP_TIMEOUT}s (last: ${out:-no answer}; logs: $DIR/node-*/)"
    fi
    sleep 1
  done
}

# --------------------------------------------------------------- commands

parse_common() { # sets DIR from --dir; leaves positional words in ARGS
  ARGS=()
  while (($#)); do
    case $1 in
      --dir) (($# >= 2)) || die "--dir needs a value"; DIR=$2; shift 2 ;;
      --dir=*) DIR=${1#--dir=}; shift ;;
      --nodes) (($# >= 2)) || die "--nodes needs a value"; OPT_NODES=$2; shift 2 ;;
      --nodes=*) OPT_NODES=${1#--nodes=}; shift ;;
      --security) OPT_SECURITY=1; shift ;;
      --racks) OPT_RACKS=1; shift ;;
      --reauth-ms) (($# >= 2)) || die "--reauth-ms needs a value"; OPT_REAUTH_MS=$2; shift 2 ;;
      --reauth-ms=*) OPT_REAUTH_MS=${1#--reauth-ms=}; shift ;;
      -h | --help) usage; exit 0 ;;
      -*) die "unknown option '$1' (see --help)" ;;
      *) ARGS+=("$1"); shift ;;
    esac
  done
  [[ -n $DIR ]] || die "--dir must not be empty"
  DIR=$(realpath -m -- "$DIR")
  [[ $DIR != / ]] || die "--dir must not be /"
}

check_node_arg() {
  (($# == 1)) || die "expected exactly one node number"
  if ! is_uint "$1" || (($1 < 1 || $1 > NODES)); then
    die "node must be 1..$NODES, got '$1'"
  fi
}

write_node_config() {
  local n=$1 dir i voters='' bootstrap_servers='' rf min_isr
  dir=$(node_dir "$n")
  rf=$((NODES < 3 ? NODES : 3))
  min_isr=$((rf >= 3 ? 2 : 1))
  for ((i = 1; i <= NODES; i++)); do
    voters+=${voters:+,}$i@127.0.0.1:${CONTROLLER_PORTS[i - 1]}
    bootstrap_servers+=${bootstrap_servers:+,}127.0.0.1:${CONTROLLER_PORTS[i - 1]}
  done
  {
    echo "# written by scripts/kafka-local.sh for Kafka $VERSION ($QUORUM quorum)"
    echo "process.roles=broker,controller"
    echo "node.id=$n"
    if [[ $QUORUM == dynamic ]]; then
      echo "controller.quorum.bootstrap.servers=$bootstrap_servers"
    else
      echo "controller.quorum.voters=$voters"
    fi
    local listeners=PLAINTEXT://127.0.0.1:${BROKER_PORTS[n - 1]}
    local protocol_map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
    if ((SECURITY)); then
      listeners+=,SSL://127.0.0.1:${SSL_PORTS[n - 1]}
      listeners+=,SASL_PLAINTEXT://127.0.0.1:${SASL_PORTS[n - 1]}
      listeners+=,SASL_SSL://127.0.0.1:${SASL_SSL_PORTS[n - 1]}
      protocol_map+=,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
    fi
    echo "listeners=$listeners,CONTROLLER://127.0.0.1:${CONTROLLER_PORTS[n - 1]}"
    echo "advertised.listeners=$listeners"
    echo "listener.security.protocol.map=$protocol_map"
    echo "controller.listener.names=CONTROLLER"
    echo "inter.broker.listener.name=PLAINTEXT"
    echo "log.dirs=$dir/data"
    echo "num.network.threads=2"
    echo "num.io.threads=2"
    echo "background.threads=2"
    echo "num.recovery.threads.per.data.dir=1"
    echo "num.replica.fetchers=1"
    echo "num.partitions=1"
    echo "default.replication.factor=1"
    echo "auto.create.topics.enable=true"
    echo "delete.topic.enable=true"
    echo "group.initial.rebalance.delay.ms=0"
    echo "offsets.topic.replication.factor=$rf"
    echo "transaction.state.log.replication.factor=$rf"
    echo "transaction.state.log.min.isr=$min_isr"
    if ((MAJOR >= 4)); then
      echo "share.coordinator.state.topic.replication.factor=$rf"
      echo "share.coordinator.state.topic.min.isr=$min_isr"
    fi
    if ((OPT_RACKS)); then
      echo "broker.rack=rack-$n"
      echo "replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector"
    fi
    ((SECURITY)) && write_security_config
    if [[ -n ${KWIRE_KAFKA_BROKER_PROPS:-} ]]; then
      echo "# KWIRE_KAFKA_BROKER_PROPS"
      printf '%s\n' "$KWIRE_KAFKA_BROKER_PROPS"
    fi
  } >"$dir/server.properties"
}

# ---------------------------------------------------------------- security

# A CA, a broker certificate for 127.0.0.1 and localhost, and a client
# certificate, with the openssl CLI, into DIR/tls. Keys are unencrypted PKCS#8
# (what Kafka's PEM key store reads without ssl.key.password).
make_certificates() {
  local tls=$DIR/tls
  mkdir -p -- "$tls"
  (
    cd -- "$tls"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=kwire test CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -out ca.pem 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out broker.key 2>/dev/null
    openssl req -new -key broker.key -subj "/CN=localhost" -out broker.csr 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      "extendedKeyUsage=serverAuth,clientAuth" >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
      -sha256 -extfile broker.ext -out broker.crt 2>/dev/null
    cat broker.key broker.crt >broker.pem
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out client.key 2>/dev/null
    openssl req -new -key client.key -subj "/CN=$CLIENT_CN" -out client.csr 2>/dev/null
    printf '%s\n' "extendedKeyUsage=clientAuth" >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
      -sha256 -extfile client.ext -out client.pem 2>/dev/null
    rm -f -- ./*.csr ./*.ext ca.srl
    chmod 600 -- ./*.key broker.pem
  ) || die "openssl could not make the test certificates in $tls"
}

# The server.properties lines of the SSL, SASL_PLAINTEXT and SASL_SSL listeners.
write_security_config() {
  local tls=$DIR/tls l mech
  echo "# --security"
  echo "ssl.keystore.type=PEM"
  echo "ssl.keystore.location=$tls/broker.pem"
  echo "ssl.truststore.type=PEM"
  echo "ssl.truststore.location=$tls/ca.pem"
  echo "ssl.client.auth=requested"
  echo "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
  echo "super.users=User:admin;User:ANONYMOUS"
  echo "allow.everyone.if.no.acl.found=false"
  # KIP-368: SASL sessions end after this; 0 (Kafka's default) sets no limit.
  echo "connections.max.reauth.ms=$OPT_REAUTH_MS"
  local mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
  if ((KDC_PORT)); then
    mechanisms+=,GSSAPI
    echo "sasl.kerberos.service.name=$KRB_SERVICE"
  fi
  for l in sasl_plaintext sasl_ssl; do
    echo "listener.name.$l.sasl.enabled.mechanisms=$mechanisms"
    if ((KDC_PORT)); then
      echo "listener.name.$l.gssapi.sasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true keyTab=\"$DIR/krb5/broker.keytab\" principal=\"$KRB_BROKER_PRINCIPAL\";"
    fi
    echo "listener.name.$l.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_admin=\"$ADMIN_PASSWORD\" user_$USER_NAME=\"$USER_PASSWORD\" user_$RESTRICTED_USER=\"$RESTRICTED_PASSWORD\";"
    for mech in scram-sha-256 scram-sha-512; do
      echo "listener.name.$l.$mech.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
    done
    # No server callback handler: the broker validates unsecured ({"alg":"none"}) JWTs.
    echo "listener.name.$l.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"admin\";"
  done
}

load_security_env() {
  local key value
  while IFS='=' read -r key value; do
    case $key in
      user) USER_NAME=$value ;;
      password) USER_PASSWORD=$value ;;
      admin_password) ADMIN_PASSWORD=$value ;;
      restricted_password) RESTRICTED_PASSWORD=$value ;;
    esac
  done <"$DIR/security.env"
}

print_security_lines() {
  echo "ssl=127.0.0.1:${SSL_PORTS[0]}"
  echo "sasl_plaintext=127.0.0.1:${SASL_PORTS[0]}"
  echo "sasl_ssl=127.0.0.1:${SASL_SSL_PORTS[0]}"
  echo "ca_pem=$DIR/tls/ca.pem"
  echo "client_cert_pem=$DIR/tls/client.pem"
  echo "client_key_pem=$DIR/tls/client.key"
  echo "user=$USER_NAME"
  echo "password=$USER_PASSWORD"
  echo "restricted_user=$RESTRICTED_USER"
  echo "restricted_password=$RESTRICTED_PASSWORD"
  echo "restricted_prefix=$RESTRICTED_PREFIX"
  echo "admin_user=admin"
  echo "admin_password=$ADMIN_PASSWORD"
  echo "admin_client_config=$DIR/admin-client.properties"
  echo "reauth_ms=$OPT_REAUTH_MS"
  if ((KDC_PORT)); then
    echo "kdc_port=$KDC_PORT"
    echo "krb5_config=$DIR/krb5/krb5.conf"
    echo "client_keytab=$DIR/krb5/client.keytab"
    echo "client_principal=$KRB_CLIENT_PRINCIPAL"
    echo "service_name=$KRB_SERVICE"
  fi
}

# ---------------------------------------------------------------- kerberos

# The MIT Kerberos programs, also when /usr/sbin is not on PATH; fails when one is missing.
krb_tool() {
  local p
  p=$(command -v "$1" 2>/dev/null) || p=/usr/sbin/$1
  [[ -x $p ]] || return 1
  echo "$p"
}

# A KDC database for $REALM in DIR/krb5, the broker's and the client's principals with
# keytabs (AES only: what Java 17 and current MIT accept), then krb5kdc on $KDC_PORT
# (UDP and TCP; clients are told to use TCP). Everything goes through KRB5_CONFIG and
# KRB5_KDC_PROFILE, so nothing outside DIR is read or written.
start_kdc() {
  local k=$DIR/krb5 kdb5_util kadmin krb5kdc
  [[ -n $DIR ]] || die "start_kdc without DIR"
  kdb5_util=$(krb_tool kdb5_util) && kadmin=$(krb_tool kadmin.local) \
    && krb5kdc=$(krb_tool krb5kdc) || die "MIT Kerberos programs missing"
  mkdir -p -- "$k"
  printf '%s\n' "[libdefaults]" "  default_realm = $REALM" "  dns_lookup_kdc = false" \
    "  dns_lookup_realm = false" "  dns_canonicalize_hostname = false" "  rdns = false" \
    "  udp_preference_limit = 1" "  ticket_lifetime = 1h" "  renew_lifetime = 2h" \
    "[realms]" "  $REALM = {" "    kdc = 127.0.0.1:$KDC_PORT" "  }" \
    "[domain_realm]" "  127.0.0.1 = $REALM" "  localhost = $REALM" >"$k/krb5.conf"
  printf '%s\n' "[kdcdefaults]" "  kdc_listen = 127.0.0.1:$KDC_PORT" \
    "  kdc_tcp_listen = 127.0.0.1:$KDC_PORT" "[realms]" "  $REALM = {" \
    "    database_name = $k/principal" "    key_stash_file = $k/stash" \
    "    acl_file = $k/kadm5.acl" "    max_life = 1h" "    max_renewable_life = 2h" \
    "    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal" \
    "  }" "[logging]" "  kdc = FILE:$k/kdc.log" >"$k/kdc.conf"
  : >"$k/kadm5.acl"
  local -a env=(env KRB5_CONFIG="$k/krb5.conf" KRB5_KDC_PROFILE="$k/kdc.conf")
  (
    set -e
    "${env[@]}" "$kdb5_util" -r "$REALM" create -s -P "$(openssl rand -hex 16)" >"$k/setup.log" 2>&1
    for p in "$KRB_BROKER_PRINCIPAL" "$KRB_CLIENT_PRINCIPAL"; do
      "${env[@]}" "$kadmin" -r "$REALM" -q "addprinc -randkey $p" >>"$k/setup.log" 2>&1
    done
    "${env[@]}" "$kadmin" -r "$REALM" -q "ktadd -k $k/broker.keytab $KRB_BROKER_PRINCIPAL" >>"$k/setup.log" 2>&1
    "${env[@]}" "$kadmin" -r "$REALM" -q "ktadd -k $k/client.keytab $KRB_CLIENT_PRINCIPAL" >>"$k/setup.log" 2>&1
    "${env[@]}" "$krb5kdc" -r "$REALM" -P "$k/kdc.pid" >>"$k/setup.log" 2>&1
  ) || { tail -n 20 -- "$k/setup.log" >&2; die "could not set up the Kerberos KDC in $k"; }
  local deadline=$((SECONDS + 10))
  until [[ -s $k/kdc.pid ]] && grep -q "commencing operation" "$k/kdc.log" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      tail -n 20 -- "$k/kdc.log" >&2 || true
      stop_kdc
      die "krb5kdc did not start (see $k/kdc.log)"
    fi
    sleep 0.2
  done
  log "Kerberos KDC for $REALM on 127.0.0.1:$KDC_PORT, pid $(<"$k/kdc.pid")"
}

stop_kdc() {
  local f=$DIR/krb5/kdc.pid pid
  [[ -f $f ]] || return 0
  pid=$(<"$f")
  if is_uint "$pid" && [[ $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") == *krb5kdc* ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 5))
    while [[ -e /proc/$pid ]] && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f -- "$f"
}

# Through the PLAINTEXT listener, whose ANONYMOUS principal is a super user. The client
# certificate's principal (mTLS) may do what the user may.
# Two runs of the tool: one resource pattern type each.
add_acls() {
  local bs cls
  bs=$(bootstrap_string)
  cls=$(tool_class acls)
  run_tool 120 "$cls" --bootstrap-server "$bs" --add --allow-principal "User:$USER_NAME" \
    --allow-principal "User:CN=$CLIENT_CN" --operation All --topic '*' --group '*' --transactional-id '*' --cluster \
    >"$DIR/acls.log" 2>&1 || { tail -n 20 -- "$DIR/acls.log" >&2; die "kafka-acls failed for $USER_NAME"; }
  run_tool 120 "$cls" --bootstrap-server "$bs" --add --allow-principal "User:$RESTRICTED_USER" \
    --operation All --resource-pattern-type prefixed --topic "$RESTRICTED_PREFIX" \
    --group "$RESTRICTED_PREFIX" --transactional-id "$RESTRICTED_PREFIX" \
    >>"$DIR/acls.log" 2>&1 || { tail -n 20 -- "$DIR/acls.log" >&2; die "kafka-acls failed for $RESTRICTED_USER"; }
}

format_nodes() {
  local n i initial='' pids=() dir_ids=() args rc=0
  if [[ $QUORUM == dynamic ]] && ((NODES > 1)); then
    for ((i = 1; i <= NODES; i++)); do
      dir_ids+=("$(python3 "$HELPER" uuid)")
      initial+=${initial:+,}$i@127.0.0.1:${CONTROLLER_PORTS[i - 1]}:${dir_ids[i - 1]}
    done
  fi
  for ((n = 1; n <= NODES; n++)); do
    args=(format --cluster-id "$CLUSTER_ID" --config "$(node_dir "$n")/server.properties")
    if ((SECURITY)); then
      local mech
      for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
        args+=(--add-scram "$mech=[name=\"$USER_NAME\",password=\"$USER_PASSWORD\"]"
          --add-scram "$mech=[name=\"admin\",password=\"$ADMIN_PASSWORD\"]"
          --add-scram "$mech=[name=\"$RESTRICTED_USER\",password=\"$RESTRICTED_PASSWORD\"]")
      done
    fi
    if [[ $QUORUM == dynamic ]]; then
      if ((NODES == 1)); then args+=(--standalone)
      else args+=(--initial-controllers "$initial"); fi
    fi
    run_tool 120 kafka.tools.StorageTool "${args[@]}" \
      >"$(node_dir "$n")/format.log" 2>&1 &
    pids+=($!)
  done
  for ((n = 1; n <= NODES; n++)); do
    if ! wait "${pids[n - 1]}"; then
      rc=1
      log "formatting node $n failed:"
      tail -n 20 -- "$(node_dir "$n")/format.log" >&2 || true
    fi
  done
  ((rc == 0)) || die "kafka-storage format failed (logs: $DIR/node-*/format.log)"
}

running_nodes() {
  local n
  for ((n = 1; n <= NODES; n++)); do
    node_pid "$n" >/dev/null && echo "$n"
  done
  return 0
}

cmd_up() {
  OPT_NODES=1
  OPT_SECURITY=0
  OPT_RACKS=0
  OPT_REAUTH_MS=${KWIRE_KAFKA_REAUTH_MS:-10000}
  parse_common "$@"
  ((${#ARGS[@]} == 0)) || die "up takes no positional arguments: ${ARGS[*]}"
  if ! is_uint "$OPT_NODES" || ((OPT_NODES < 1 || OPT_NODES > 5)); then
    die "--nodes must be 1 or 3 (1..5 accepted), got '$OPT_NODES'"
  fi
  need_cmd "$JAVA" "Java 17+ runs the broker"
  need_cmd python3 "python3 picks free ports and probes the brokers"
  need_cmd setsid "util-linux provides setsid"
  ((OPT_SECURITY)) && need_cmd openssl "openssl makes the test certificates"
  is_uint "$OPT_REAUTH_MS" || die "--reauth-ms must be a number of milliseconds, got '$OPT_REAUTH_MS'"

  if has_cluster; then
    load_cluster
    local live
    live=$(running_nodes | tr '\n' ' ')
    [[ -z $live ]] || die "a cluster is already running in $DIR (nodes: $live); run: $0 down --dir $DIR"
    log "removing stale cluster in $DIR"
    stop_kdc
    rm -rf -- "$DIR"
  elif [[ -e $DIR ]]; then
    [[ -d $DIR && -z $(ls -A -- "$DIR") ]] \
      || die "$DIR exists and is not a kafka-local cluster dir; refusing to touch it"
  fi

  set_version "${KWIRE_KAFKA_VERSION:-$DEFAULT_VERSION}"
  ensure_libs
  local t0=$SECONDS n
  NODES=$OPT_NODES
  SECURITY=$OPT_SECURITY
  local ports
  mapfile -t ports < <(python3 "$HELPER" ports $(((SECURITY ? 5 : 2) * NODES + SECURITY)))
  CONTROLLER_PORTS=("${ports[@]:0:NODES}")
  BROKER_PORTS=("${ports[@]:NODES:NODES}")
  if ((SECURITY)); then
    SSL_PORTS=("${ports[@]:2*NODES:NODES}")
    SASL_PORTS=("${ports[@]:3*NODES:NODES}")
    SASL_SSL_PORTS=("${ports[@]:4*NODES:NODES}")
    ((${#SASL_SSL_PORTS[@]} == NODES)) || die "could not find free ports"
    if krb_tool krb5kdc >/dev/null && krb_tool kadmin.local >/dev/null \
        && krb_tool kdb5_util >/dev/null; then
      KDC_PORT=${ports[5 * NODES]}
    else
      log "no krb5kdc/kadmin.local/kdb5_util (Debian: krb5-kdc krb5-admin-server): no GSSAPI"
    fi
  fi
  ((${#BROKER_PORTS[@]} == NODES)) || die "could not find free ports"
  CLUSTER_ID=$(python3 "$HELPER" uuid)
  mkdir -p -- "$DIR"
  write_cluster_env
  if ((SECURITY)); then
    USER_PASSWORD=$(openssl rand -hex 12)
    ADMIN_PASSWORD=$(openssl rand -hex 12)
    RESTRICTED_PASSWORD=$(openssl rand -hex 12)
    (umask 077; printf '%s\n' "user=$USER_NAME" "password=$USER_PASSWORD" \
      "admin_password=$ADMIN_PASSWORD" "restricted_user=$RESTRICTED_USER" \
      "restricted_password=$RESTRICTED_PASSWORD" >"$DIR/security.env")
    (umask 077; printf '%s\n' "security.protocol=SASL_PLAINTEXT" "sasl.mechanism=PLAIN" \
      "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$ADMIN_PASSWORD\";" \
      >"$DIR/admin-client.properties")
    make_certificates
    if ((KDC_PORT)); then
      trap stop_kdc EXIT # a failure from here on must not leave the KDC running
      start_kdc
    fi
  fi
  for ((n = 1; n <= NODES; n++)); do
    mkdir -p -- "$(node_dir "$n")/data"
    write_node_config "$n"
  done
  log "Kafka $VERSION, $NODES node(s), $QUORUM KRaft quorum, cluster $CLUSTER_ID in $DIR"
  format_nodes
  local nodes_list
  mapfile -t nodes_list < <(seq 1 "$NODES")
  # Subshell: a failure (die) in there must still stop the started nodes.
  if ! (
    for n in "${nodes_list[@]}"; do start_node "$n"; done
    wait_ready 1 "${nodes_list[@]}"
    ((SECURITY)) && add_acls
    true
  ); then
    log "stopping the nodes that did start (logs kept in $DIR)"
    stop_all 5 || true
    stop_kdc
    exit 1
  fi
  trap - EXIT
  local bs
  bs=$(bootstrap_string)
  echo "$bs" >"$DIR/bootstrap"
  log "cluster ready in $((SECONDS - t0)) s"
  ((SECURITY)) && print_security_lines
  echo "bootstrap=$bs"
}

stop_all() { # $1 = seconds between SIGTERM and SIGKILL
  local n pid deadline pids=() nodes=()
  for ((n = 1; n <= NODES; n++)); do
    if pid=$(node_pid "$n"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      nodes+=("$n")
    fi
  done
  ((${#pids[@]})) || return 0
  log "sent SIGTERM to node(s) ${nodes[*]}"
  deadline=$((SECONDS + $1))
  local i
  for i in "${!pids[@]}"; do
    if ! wait_gone "${nodes[i]}" "${pids[i]}" $((deadline > SECONDS ? deadline - SECONDS : 0)); then
      log "node ${nodes[i]} still up after ${1}s: SIGKILL"
      kill -KILL "${pids[i]}" 2>/dev/null || true
      wait_gone "${nodes[i]}" "${pids[i]}" 10 || die "node ${nodes[i]} (pid ${pids[i]}) survived SIGKILL"
    fi
  done
}

cmd_down() {
  parse_common "$@"
  ((${#ARGS[@]} == 0)) || die "down takes no positional arguments: ${ARGS[*]}"
  if ! has_cluster; then
    if [[ -e $DIR ]]; then
      die "$DIR is not a kafka-local cluster dir (no cluster.env); not removing it"
    fi
    log "no cluster in $DIR"
    return 0
  fi
  load_cluster
  stop_all "$STOP_TIMEOUT"
  stop_kdc
  rm -rf -- "$DIR"
  log "cluster stopped, $DIR removed"
}

cmd_kill() {
  parse_common "$@"
  load_cluster
  check_node_arg "${ARGS[@]}"
  local n=${ARGS[0]} pid
  if ! pid=$(node_pid "$n"); then
    log "node $n is not running"
    return 0
  fi
  kill -KILL "$pid"
  wait_gone "$n" "$pid" 10 || die "node $n (pid $pid) survived SIGKILL"
  log "node $n (pid $pid) killed"
}

cmd_start() {
  parse_common "$@"
  load_cluster
  check_node_arg "${ARGS[@]}"
  local n=${ARGS[0]} pid
  if pid=$(node_pid "$n"); then
    log "node $n is already running (pid $pid)"
  else
    need_cmd "$JAVA" "Java 17+ runs the broker"
    [[ -f $LIBS/.kwire-complete ]] || ensure_libs
    start_node "$n"
    wait_ready 0 "$n"
    pid=$(node_pid "$n") || die "node $n died"
    log "node $n serves metadata"
  fi
  echo "node $n pid $pid running"
}

cmd_status() {
  parse_common "$@"
  ((${#ARGS[@]} == 0)) || die "status takes no positional arguments: ${ARGS[*]}"
  load_cluster
  local n pid f
  for ((n = 1; n <= NODES; n++)); do
    if pid=$(node_pid "$n"); then
      echo "node $n pid $pid running"
    else
      pid=-
      f=$(node_dir "$n")/pid
      [[ -f $f ]] && pid=$(<"$f")
      echo "node $n pid $pid stopped"
    fi
  done
}

cmd_fetch() {
  parse_common "$@"
  ((${#ARGS[@]} == 0)) || die "fetch takes no positional arguments: ${ARGS[*]}"
  set_version "${KWIRE_KAFKA_VERSION:-$DEFAULT_VERSION}"
  ensure_libs
  log "Kafka $VERSION jars ready in $LIBS"
  echo "libs=$LIBS"
}

cmd_tool() {
  (($# >= 1)) || die "tool needs a tool name (see --help)"
  set_version "${KWIRE_KAFKA_VERSION:-$DEFAULT_VERSION}"
  local cls
  cls=$(tool_class "$1")
  shift
  need_cmd "$JAVA" "Java 17+ runs the Kafka tools"
  ensure_libs
  run_tool "$TOOL_TIMEOUT" "$cls" "$@"
}

main() {
  (($# >= 1)) || { usage; exit 2; }
  local verb=$1
  shift
  case $verb in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    kill) cmd_kill "$@" ;;
    start) cmd_start "$@" ;;
    status) cmd_status "$@" ;;
    fetch) cmd_fetch "$@" ;;
    tool) cmd_tool "$@" ;;
    -h | --help | help) usage ;;
    *) usage; die "unknown command '$verb'" ;;
  esac
}

main "$@"
