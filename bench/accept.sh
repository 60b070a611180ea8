#!/usr/bin/env bash
# accept.sh - end-to-end ACCEPTANCE benchmark: smtp-source -> our MTA on loopback,
# compared, in the same run on the same machine, with smtp-source -> smtp-sink
# (the box's no-queue ceiling) and optionally real Postfix as a loopback relay.
#
# Per run (RUNS times; medians reported):
#   1. fresh temp config dir (main.cf: queue_directory, maillog_file; master.cf:
#      "127.0.0.1:$PORT inet n - n - - smtpd"), `postfix -c DIR start-fg` in the
#      background, wait until the port answers;
#   2. smtp-source -s $PARALLEL -m $MESSAGES -l $SIZE -f a@example.org -t b@example.net,
#      timed with date +%s.%N; `postfix -c DIR postqueue -n` must say "total $MESSAGES";
#   3. `postfix -c DIR stop`; then smtp-sink on $SINKPORT, same smtp-source flags.
# RELAY_BASELINE=1 then runs ../shared/anchors/postfix-relay-baseline.sh relay
# (RUNS=$RELAY_RUNS, same MESSAGES; slow, reconfigures the system Postfix) for the
# Postfix accept figure. The result is one markdown row, printed and appended to
# perf-results/acceptance.md.
#
# Knobs (defaults): MESSAGES=20000 RUNS=3 PARALLEL=20 SIZE=4096 PORT=2525 SINKPORT=2526
#   STEP_TIMEOUT=300 (cap per smtp-source run / build / relay run), RELAY_BASELINE=0,
#   RELAY_RUNS=1, QUIET_WAIT=300 QUIET_PCT=20 (before each step wait up to QUIET_WAIT s for
#   the machine to be less than QUIET_PCT % busy; the worst figure goes in the notes), SNAPSHOT=1 (run a private copy of the Release build, so that a
#   rebuild by `./postfix` while others edit src/ cannot swap the binary mid-run;
#   0 = run ./postfix directly), NOTE="" (free text for the notes column).
# Run as root or not; smtp-sink drops to user postfix (or nobody) when run as root.
# Shared functions: bench/lib.sh (also used by bench/relay.sh).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MESSAGES=${MESSAGES:-20000}; RUNS=${RUNS:-3}; PARALLEL=${PARALLEL:-20}; SIZE=${SIZE:-4096}
PORT=${PORT:-2525}; SINKPORT=${SINKPORT:-2526}; STEP_TIMEOUT=${STEP_TIMEOUT:-300}
QUIET_WAIT=${QUIET_WAIT:-300}; QUIET_PCT=${QUIET_PCT:-20}
RELAY_BASELINE=${RELAY_BASELINE:-0}; RELAY_RUNS=${RELAY_RUNS:-1}; SNAPSHOT=${SNAPSHOT:-1}; NOTE=${NOTE:-}
RELAY_SCRIPT=${RELAY_SCRIPT:-$ROOT/../shared/anchors/postfix-relay-baseline.sh}
RESULTS=$ROOT/perf-results/acceptance.md
PROG=accept.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for v in MESSAGES RUNS PARALLEL SIZE PORT SINKPORT STEP_TIMEOUT RELAY_RUNS QUIET_WAIT QUIET_PCT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number"
done
(( MESSAGES >= 1 && MESSAGES <= 1000000 && RUNS >= 1 && RUNS <= 20 && RELAY_RUNS <= 5 && PARALLEL <= 500 && STEP_TIMEOUT <= 1800 && QUIET_WAIT <= 3600 )) \
  || die "limits: 1<=MESSAGES<=1e6, 1<=RUNS<=20, RELAY_RUNS<=5, PARALLEL<=500, STEP_TIMEOUT<=1800, QUIET_WAIT<=3600"
(( PORT != SINKPORT )) || die "PORT and SINKPORT must differ"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/accept.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ setup
setup_common
port_busy "$PORT" && die "port $PORT already in use"
port_busy "$SINKPORT" && die "port $SINKPORT already in use"

LOAD0=$(cut -d' ' -f1 /proc/loadavg)
echo "# $(date -u +%FT%TZ) commit $COMMIT, $(nproc) cpus, smtp-source ${SRC_FLAGS[*]}, runs=$RUNS"
: > "$WORK/r.ours"; : > "$WORK/r.sink"
for i in $(seq "$RUNS"); do
  # ---------------------------------------------------------------- ours
  R="$WORK/run$i"; CFG="$R/etc"; mkdir -p "$CFG"
  printf 'queue_directory = %s/queue\nmaillog_file = %s/maillog\n# acceptance only: mail stays queued (deferred), nothing leaves the host\ndefer_transports = smtp, relay\n' "$R" "$R" > "$CFG/main.cf"
  printf '127.0.0.1:%s inet n - n - - smtpd\n' "$PORT" > "$CFG/master.cf"
  wait_quiet
  "${MTA_CMD[@]}" -c "$CFG" start-fg >"$R/start-fg.log" 2>&1 &
  MTA_PID=$!
  wait_port "$PORT" || { tail -20 "$R/start-fg.log" >&2; die "MTA did not listen on 127.0.0.1:$PORT within 30s"; }
  run_source "$PORT" "ours" || die "run $i: smtp-source -> MTA failed"
  ours=$SRC_RATE
  total=$(mta -c "$CFG" postqueue -n 2>&1 | awk '$1=="total"{print $2}')
  [[ $total == "$MESSAGES" ]] || die "run $i: postqueue -n reports total '${total:-?}', expected $MESSAGES"
  stop_mta
  echo "$ours" >> "$WORK/r.ours"
  rm -rf "$R"; R=""

  # ---------------------------------------------------------------- sink
  wait_quiet
  smtp-sink -c "${SINK_USER[@]}" "127.0.0.1:$SINKPORT" 1000 >"$WORK/sink.out" 2>&1 &
  SINK_PID=$!
  wait_port "$SINKPORT" || die "smtp-sink did not listen on 127.0.0.1:$SINKPORT"
  run_source "$SINKPORT" "smtp-sink" || die "run $i: smtp-source -> smtp-sink failed"
  sink=$SRC_RATE
  stop_sink
  echo "$sink" >> "$WORK/r.sink"
  printf "run %d: ours %6d msgs/s   smtp-sink %6d msgs/s   queue total %s\n" "$i" "$ours" "$sink" "$total"
done
OURS=$(median < "$WORK/r.ours"); SINK=$(median < "$WORK/r.sink")

# ------------------------------------------------------------------ postfix
PFX="-"; PFX_RATIO="-"; PFX_NOTE=""
if [[ $RELAY_BASELINE == 1 ]]; then
  [[ -x $RELAY_SCRIPT ]] || [[ -f $RELAY_SCRIPT ]] || die "relay script $RELAY_SCRIPT not found"
  echo "# postfix relay baseline: RUNS=$RELAY_RUNS MESSAGES=$MESSAGES $RELAY_SCRIPT relay"
  wait_quiet
  set +e
  RUNS=$RELAY_RUNS MESSAGES=$MESSAGES PARALLEL=$PARALLEL SIZE=$SIZE SINK_PORT=$SINKPORT RUN_TIMEOUT=$STEP_TIMEOUT \
    timeout $(( (RELAY_RUNS * 2 + 1) * STEP_TIMEOUT )) bash "$RELAY_SCRIPT" relay 2>&1 | tee "$WORK/relay.out"
  rc=${PIPESTATUS[0]}
  set -e
  [[ $rc == 0 ]] || die "relay baseline exited $rc"
  PFX=$(awk '/postfix relay accept/{for(i=1;i<=NF;i++) if($i=="median") print $(i+1)}' "$WORK/relay.out")
  DRAIN=$(awk '/postfix relay drain/{for(i=1;i<=NF;i++) if($i=="median") print $(i+1)}' "$WORK/relay.out")
  [[ $PFX =~ ^[0-9]+$ ]] || die "could not read Postfix accept figure from relay baseline output"
  PFX_RATIO=$(ratio "$OURS" "$PFX")
  PFX_NOTE="; postfix: relay mode, runs=$RELAY_RUNS, drain ${DRAIN:-?}/s"
  PFX=$(thousands "$PFX")
fi

# ------------------------------------------------------------------ report
NOTES="m=$MESSAGES s=$PARALLEL l=$SIZE, median of $RUNS (ours $(span "$WORK/r.ours"), sink $(span "$WORK/r.sink"))$PFX_NOTE; max CPU busy before a step ${BUSY_MAX}%, load1 $LOAD0 at start, $(cut -d' ' -f1 /proc/loadavg) at end"
[[ -n $MTA_EXIT_NOTE ]] && NOTES+="; MTA exit status on stop:$MTA_EXIT_NOTE"
[[ -n $DIRTY ]] && NOTES+="; $DIRTY"
[[ -n $NOTE ]] && NOTES+="; $NOTE"
ROW="| $(date -u +%F) | $COMMIT | $(thousands "$OURS") | $(thousands "$SINK") | $(ratio "$OURS" "$SINK") | $PFX | $PFX_RATIO | $NOTES |"

if [[ ! -f $RESULTS ]]; then
  mkdir -p "$(dirname "$RESULTS")"
  cat > "$RESULTS" <<HDR
# Acceptance throughput (smtp-source -> MTA on loopback)

Produced by \`bench/accept.sh\` (one row per run of the script; newest last). All figures in a
row come from the same run on the same machine, with the same smtp-source flags
(\`-s 20 -l 4096 -f a@example.org -t b@example.net\`, one connection per message).

| column | meaning |
|---|---|
| date | UTC date of the run |
| commit | \`git rev-parse --short HEAD\` (notes say when src/ had uncommitted changes) |
| ours msgs/s | MESSAGES / wall time of smtp-source against our MTA (\`postfix start-fg\`, fresh queue per run); every 250 means committed to the queue; \`postqueue -n\` must then report \`total MESSAGES\` |
| smtp-source->smtp-sink msgs/s | the same smtp-source against smtp-sink (no queue): this machine's ceiling for the SMTP exchange |
| ratio ours/sink | ours / sink |
| postfix accept msgs/s | real Postfix as a loopback relay (\`../shared/anchors/postfix-relay-baseline.sh relay\`, RELAY_BASELINE=1): time until smtp-source got 250 for every message; \`-\` when not measured |
| ratio ours/postfix | ours / postfix accept |
| notes | messages (m), sessions (s), size (l), runs, min-max of the runs; the highest whole-machine CPU busy % sampled just before a step (the script waits up to QUIET_WAIT=300 s for it to fall below QUIET_PCT=20 %) and the 1-minute load average, since other work on the box skews every figure; non-zero MTA exit on stop; anything unusual |

Medians of RUNS runs (default 3). $(machine_line); smtp-source, the MTA and smtp-sink share the CPUs.

| date | commit | ours msgs/s | smtp-source->smtp-sink msgs/s | ratio ours/sink | postfix accept msgs/s | ratio ours/postfix | notes |
|---|---|---|---|---|---|---|---|
HDR
fi
echo "$ROW" >> "$RESULTS"
echo "$ROW"
