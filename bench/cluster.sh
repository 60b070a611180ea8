#!/usr/bin/env bash
# cluster.sh - scale-out benchmark on loopback: 1, 2, 3 MTA nodes sharing one Redis-protocol
# store (Debian redis-server), each fed by its own smtp-source, all relaying to one smtp-sink.
#
# Per node count N (NODES, default "1 2 3"), RUNS times (median reported):
#   1. fresh redis-server on 127.0.0.1:$REDISPORT (no persistence), fresh smtp-sink -c on
#      $SINKPORT, the store seeded with the shared tables FEATURES use;
#   2. N nodes: config dirs with cluster_store, cluster_node_name nodeI, relayhost = the sink,
#      smtpd on 127.0.0.1:$((BASEPORT+I)), plus the FEATURES main.cf lines (default: the shared
#      redis: virtual alias table and cluster-counted client connection, message and recipient
#      rates and a connection count for every client (no exceptions) with limits high enough
#      never to refuse, so every message costs what a production cluster pays in store calls);
#   3. N concurrent smtp-source -s $PARALLEL -m $((MESSAGES/N)) -l $SIZE, one per node (a load
#      balancer spreading clients), timed from the first start until smtp-sink has counted all
#      messages and every node's queue is empty (end to end);
#   4. the store's work per message: redis INFO total_commands_processed and redis-server's CPU
#      time (/proc), divided by the messages; every node's maillog must hold exactly its share
#      of status=sent lines, and the sink exactly MESSAGES.
# One markdown row per N is appended to perf-results/cluster.md.
#
# Knobs (defaults): MESSAGES=30000 RUNS=1 NODES="1 2 3" PARALLEL=20 SIZE=4096 BASEPORT=2540
#   SINKPORT=2539 REDISPORT=6390 RUN_TIMEOUT=300 QUIET_WAIT=300 QUIET_PCT=20 SNAPSHOT=1
#   FEATURES="default" (or "none": cluster_store only), NOTE="". Run as root (smtp-sink -u).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MESSAGES=${MESSAGES:-30000}; RUNS=${RUNS:-1}; NODES=${NODES:-"1 2 3"}; PARALLEL=${PARALLEL:-20}; SIZE=${SIZE:-4096}
BASEPORT=${BASEPORT:-2540}; SINKPORT=${SINKPORT:-2539}; REDISPORT=${REDISPORT:-6390}; RUN_TIMEOUT=${RUN_TIMEOUT:-300}
STEP_TIMEOUT=$RUN_TIMEOUT; QUIET_WAIT=${QUIET_WAIT:-300}; QUIET_PCT=${QUIET_PCT:-20}; SNAPSHOT=${SNAPSHOT:-1}
FEATURES=${FEATURES:-default}; NOTE=${NOTE:-}
RESULTS=$ROOT/perf-results/cluster.md
PROG=cluster.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for v in MESSAGES RUNS PARALLEL SIZE BASEPORT SINKPORT REDISPORT RUN_TIMEOUT QUIET_WAIT QUIET_PCT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number"
done
(( MESSAGES >= 3 && MESSAGES <= 1000000 && RUNS >= 1 && RUNS <= 10 && PARALLEL >= 1 && PARALLEL <= 200 \
   && RUN_TIMEOUT >= 10 && RUN_TIMEOUT <= 1800 )) || die "limits: 3<=MESSAGES<=1e6, 1<=RUNS<=10, 1<=PARALLEL<=200, 10<=RUN_TIMEOUT<=1800"
for n in $NODES; do [[ $n =~ ^[1-9]$ ]] || die "NODES entries must be 1..9"; done
[[ $FEATURES == default || $FEATURES == none ]] || die "FEATURES must be default or none"
[[ $(id -u) -eq 0 ]] || die "run as root (smtp-sink -u root)"
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || die "redis-server/redis-cli missing (scripts/install-test-deps.sh installs them)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cluster.XXXXXX")
NODE_PIDS=(); NODE_CFGS=(); REDIS_PID=""
stop_all() {
  local i
  for i in "${!NODE_PIDS[@]}"; do
    [[ -n ${NODE_PIDS[$i]} ]] || continue
    mta -c "${NODE_CFGS[$i]}" stop >>"$WORK/stop.log" 2>&1 || true
    wait_gone "${NODE_PIDS[$i]}" 300 || kill -9 "${NODE_PIDS[$i]}" 2>/dev/null || true
    wait "${NODE_PIDS[$i]}" 2>/dev/null || true
  done
  NODE_PIDS=(); NODE_CFGS=()
  if [[ -n $REDIS_PID ]]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; REDIS_PID=""; fi
  stop_sink
}
trap 'stop_all; cleanup' EXIT
trap 'exit 130' INT TERM

rcli() { timeout 10 redis-cli -h 127.0.0.1 -p "$REDISPORT" "$@"; }
sink_count() {
  local s; s=$(tail -c 256 "$WORK/sink.out" 2>/dev/null) || true
  [[ $s == *mesg=* ]] || { echo 0; return; }
  s=${s##*mesg=}; s=${s%%[!0-9]*}; echo "${s:-0}"
}
scripts_run() { rcli info commandstats | awk -F'[:=,]' '/^cmdstat_(evalsha|eval):/{n+=$3} END{print n+0}'; }
proc_cpu() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }   # clock ticks

setup_common
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
echo "# cluster: MESSAGES=$MESSAGES NODES=\"$NODES\" PARALLEL=$PARALLEL per node SIZE=$SIZE FEATURES=$FEATURES commit $COMMIT"

features() {  # main.cf lines for every node
  [[ $FEATURES == none ]] && return 0
  printf 'virtual_alias_maps = redis:%s/valias.cf\n' "$WORK"
  printf 'smtpd_client_event_limit_exceptions =\nsmtpd_client_connection_count_limit = 100000\nsmtpd_client_connection_rate_limit = 100000000\nsmtpd_client_message_rate_limit = 100000000\nsmtpd_client_recipient_rate_limit = 100000000\n'
}
printf 'hosts = 127.0.0.1:%s\nkey_format = valias:%%s\nquery_type = get\ncache_ttl = 5s\n' "$REDISPORT" > "$WORK/valias.cf"

: > "$WORK/rows"
for N in $NODES; do
  : > "$WORK/r.drn"; STORE_OPS=""; STORE_US=""
  for run in $(seq "$RUNS"); do
    R="$WORK/n$N.r$run"; mkdir -p "$R"
    wait_quiet
    redis-server --port "$REDISPORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$R" --daemonize no \
      --loglevel warning >"$R/redis.log" 2>&1 &
    REDIS_PID=$!
    wait_port "$REDISPORT" || die "redis-server did not listen on $REDISPORT"
    rcli set valias:alias@example.net b@example.net >/dev/null
    smtp-sink -c "${SINK_USER[@]}" "127.0.0.1:$SINKPORT" 1000 >"$WORK/sink.out" 2>&1 &
    SINK_PID=$!
    wait_port "$SINKPORT" || die "smtp-sink did not listen on $SINKPORT"
    for i in $(seq 0 $((N - 1))); do
      CFG="$R/node$i/etc"; mkdir -p "$CFG"
      { printf 'queue_directory = %s/node%s/queue\nmaillog_file = %s/node%s/maillog\nrelayhost = [127.0.0.1]:%s\n' "$R" "$i" "$R" "$i" "$SINKPORT"
        printf 'cluster_store = 127.0.0.1:%s\ncluster_node_name = node%s\nmetrics_endpoint =\n' "$REDISPORT" "$((i + 1))"
        features; } > "$CFG/main.cf"
      printf '127.0.0.1:%s inet n - n - - smtpd\nsmtp unix - - n - - smtp\nrelay unix - - n - - smtp\n' "$((BASEPORT + i))" > "$CFG/master.cf"
      "${MTA_CMD[@]}" -c "$CFG" start-fg >"$R/node$i.log" 2>&1 &
      NODE_PIDS+=("$!"); NODE_CFGS+=("$CFG")
    done
    for i in $(seq 0 $((N - 1))); do
      wait_port "$((BASEPORT + i))" || { tail -20 "$R/node$i.log" >&2; die "node $i did not listen"; }
    done
    ops0=$(rcli info stats | awk -F: '/^total_commands_processed/{print $2+0}'); cpu0=$(proc_cpu "$REDIS_PID"); ev0=$(scripts_run)
    share=$(( MESSAGES / N )); total=$(( share * N ))
    t0=$(now)
    pids=()
    for i in $(seq 0 $((N - 1))); do
      timeout "$STEP_TIMEOUT" smtp-source -s "$PARALLEL" -m "$share" -l "$SIZE" -f a@example.org -t b@example.net \
        "127.0.0.1:$((BASEPORT + i))" >"$R/source$i.out" 2>&1 &
      pids+=("$!")
    done
    for i in "${!pids[@]}"; do wait "${pids[$i]}" || { cat "$R/source$i.out" >&2; grep -E 'warning|fatal|error|reject' "$R/node$i/maillog" | tail -n 5 >&2; die "smtp-source to node $i exited non-zero"; }; done
    deadline=$(( SECONDS + RUN_TIMEOUT ))
    while (( $(sink_count) < total )); do
      (( SECONDS < deadline )) || die "N=$N run $run: drain timeout: sink counted $(sink_count)/$total"
      sleep 0.2
    done
    for i in $(seq 0 $((N - 1))); do
      while q=$(mta -c "${NODE_CFGS[$i]}" postqueue -n 2>&1 | awk '$1=="total"{print $2}'); [[ $q != 0 ]]; do
        (( SECONDS < deadline )) || die "N=$N run $run: node $i queue total '${q:-?}' after the sink counted all"
        sleep 0.2
      done
    done
    t1=$(now)
    ops1=$(rcli info stats | awk -F: '/^total_commands_processed/{print $2+0}'); cpu1=$(proc_cpu "$REDIS_PID"); ev1=$(scripts_run)
    stop_all
    got=$(sink_count)
    [[ $got == "$total" ]] || die "N=$N run $run: smtp-sink counted $got, expected exactly $total"
    for i in $(seq 0 $((N - 1))); do
      sent=$(grep -c 'status=sent' "$R/node$i/maillog" || true)
      [[ $sent == "$share" ]] || die "N=$N run $run: node $i logged $sent status=sent lines, expected $share"
    done
    awk -v m="$total" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f\n", m/(b-a)}' >> "$WORK/r.drn"
    STORE_OPS=$(awk -v o=$((ops1 - ops0)) -v m="$total" 'BEGIN{printf "%.2f", o/m}')
    STORE_EV=$(awk -v o=$((ev1 - ev0)) -v m="$total" 'BEGIN{printf "%.2f", o/m}')
    STORE_US=$(awk -v c=$((cpu1 - cpu0)) -v m="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", c*1000000/hz/m}')
    printf "N=%s run %s: %s msgs/s end to end, store %s commands/msg (%s script calls), %s us store CPU/msg\n" "$N" "$run" "$(tail -1 "$WORK/r.drn")" "$STORE_OPS" "$STORE_EV" "$STORE_US"
    rm -rf "$R"
  done
  DRN=$(median < "$WORK/r.drn")
  CEIL=$(awk -v u="$STORE_US" 'BEGIN{ if (u > 0) printf "%.0f", 1000000/u; else print "-" }')
  echo "| $(date -u +%F) | $COMMIT | $N | $(thousands "$DRN") | $(thousands "$(( DRN / N ))") | $STORE_OPS ($STORE_EV scripts) | $STORE_US | $( [[ $CEIL == - ]] && echo - || thousands "$CEIL") | m=$MESSAGES s=$PARALLEL/node l=$SIZE runs=$RUNS features=$FEATURES; max CPU busy before a step ${BUSY_MAX}%, load1 $LOAD0 at start${NOTE:+; $NOTE} |" >> "$WORK/rows"
done

if [[ ! -f $RESULTS ]]; then
  cat > "$RESULTS" <<HDR
# Scale-out: 1, 2, 3 nodes sharing one store (bench/cluster.sh)

$(machine_line)

| date | commit | nodes | end-to-end msgs/s (all nodes) | per node msgs/s | store commands/msg (incl. those the scripts run) | store CPU us/msg | store ceiling msgs/s (one core) | notes |
|---|---|---|---|---|---|---|---|---|
HDR
fi
cat "$WORK/rows" >> "$RESULTS"
cat "$WORK/rows"
