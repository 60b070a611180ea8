#!/usr/bin/env bash
# relay.sh - end-to-end RELAY benchmark on loopback: smtp-source -> our MTA -> smtp-sink,
# compared, in the same run on the same machine, with real Postfix 3.7 doing the same
# (../shared/anchors/postfix-relay-baseline.sh relay).
#
# Per run (RUNS times; medians reported):
#   1. smtp-sink -c -u root 127.0.0.1:$SINKPORT 1000 (fresh; -c prints a running mesg= count);
#   2. fresh temp config dir: main.cf queue_directory, maillog_file, relayhost =
#      [127.0.0.1]:$SINKPORT (defer_transports not set, so empty); master.cf
#      "127.0.0.1:$PORT inet n - n - - smtpd" plus "smtp unix - - n - - smtp" and
#      "relay unix - - n - - smtp"; `postfix -c DIR start-fg` in the background;
#   3. smtp-source -s $PARALLEL -m $MESSAGES -l $SIZE -f a@example.org -t b@example.net:
#      accept = MESSAGES / time until smtp-source exits;
#   4. drain (end to end) = MESSAGES / time from smtp-source's start until
#      `postfix -c DIR postqueue -n` says "total 0". Each postqueue -n is a .NET process
#      start, so the script first waits (cheaply, tail of smtp-sink's output every 0.2 s) until
#      smtp-sink has counted MESSAGES, then polls postqueue -n every 0.2 s; each wait is
#      bounded by RUN_TIMEOUT;
#   5. `postfix -c DIR stop`, smtp-sink stopped; then the maillog must hold exactly MESSAGES
#      "status=sent" lines (distinct queue ids) and smtp-sink must have counted exactly
#      MESSAGES; otherwise the script fails loudly. Deferred lines and warning/fatal/error
#      lines are counted and go in the notes (the first few are printed). A failed run keeps
#      its maillog, start-fg log and postqueue listing in ${TMPDIR:-/tmp}/relay-failed.XXXXXX.
# Then, unless POSTFIX_BASELINE=0, postfix-relay-baseline.sh relay with the same MESSAGES /
# SIZE / PARALLEL and SINK_PORT (RUNS=$POSTFIX_RUNS; slow; reconfigures the system Postfix
# as a loopback relay, and stops it again when it started it). One markdown row is printed
# and appended to perf-results/relay.md.
#
# Knobs (defaults): MESSAGES=50000 RUNS=5 PARALLEL=20 SIZE=4096 PORT=2525 SINKPORT=2526
#   RUN_TIMEOUT=300 (cap per smtp-source run, per drain wait, per postqueue/stop),
#   POSTFIX_BASELINE=1, POSTFIX_RUNS=3 (a single Postfix run varied 240-528 msg/s on this
#   box in one session: medians on both sides are the figure of record), QUIET_WAIT=300 QUIET_PCT=20 (before each step wait up
#   to QUIET_WAIT s for the machine to be less than QUIET_PCT % busy; the worst figure goes in
#   the notes), SNAPSHOT=1 (run a private copy of the Release build; 0 = ./postfix directly),
#   NOTE="" (free text for the notes column). Run as root (the Postfix baseline needs it).
# Shared functions: bench/lib.sh (also used by bench/accept.sh).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MESSAGES=${MESSAGES:-50000}; RUNS=${RUNS:-5}; PARALLEL=${PARALLEL:-20}; SIZE=${SIZE:-4096}
PORT=${PORT:-2525}; SINKPORT=${SINKPORT:-2526}; RUN_TIMEOUT=${RUN_TIMEOUT:-300}; STEP_TIMEOUT=$RUN_TIMEOUT
QUIET_WAIT=${QUIET_WAIT:-300}; QUIET_PCT=${QUIET_PCT:-20}; SNAPSHOT=${SNAPSHOT:-1}; NOTE=${NOTE:-}
POSTFIX_BASELINE=${POSTFIX_BASELINE:-1}; POSTFIX_RUNS=${POSTFIX_RUNS:-3}
RELAY_SCRIPT=${RELAY_SCRIPT:-$ROOT/../shared/anchors/postfix-relay-baseline.sh}
RESULTS=$ROOT/perf-results/relay.md
PROG=relay.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for v in MESSAGES RUNS PARALLEL SIZE PORT SINKPORT RUN_TIMEOUT POSTFIX_RUNS QUIET_WAIT QUIET_PCT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number"
done
(( MESSAGES >= 1 && MESSAGES <= 1000000 && RUNS >= 1 && RUNS <= 20 && POSTFIX_RUNS >= 1 && POSTFIX_RUNS <= 5 \
   && PARALLEL >= 1 && PARALLEL <= 500 && RUN_TIMEOUT >= 10 && RUN_TIMEOUT <= 1800 && QUIET_WAIT <= 3600 )) \
  || die "limits: 1<=MESSAGES<=1e6, 1<=RUNS<=20, 1<=POSTFIX_RUNS<=5, 1<=PARALLEL<=500, 10<=RUN_TIMEOUT<=1800, QUIET_WAIT<=3600"
(( PORT != SINKPORT )) || die "PORT and SINKPORT must differ"
[[ $(id -u) -eq 0 ]] || die "run as root (smtp-sink -u root; the Postfix baseline reconfigures the system Postfix)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/relay.XXXXXX")
PFX_WAS_RUNNING=0
finish() {
  cleanup
  # The baseline stops the system Postfix when it started it; make sure, unless it was up before us.
  if [[ $PFX_WAS_RUNNING == 0 ]] && command -v postfix >/dev/null && postfix status >/dev/null 2>&1; then
    echo "$PROG: system Postfix still running; stopping it" >&2
    timeout 60 postfix stop >/dev/null 2>&1 || true
  fi
}
trap finish EXIT
trap 'exit 130' INT TERM

sink_count() {  # last "mesg=N" printed by smtp-sink -c
  local s; s=$(tail -c 256 "$WORK/sink.out" 2>/dev/null) || true
  [[ $s == *mesg=* ]] || { echo 0; return; }
  s=${s##*mesg=}; s=${s%%[!0-9]*}; echo "${s:-0}"
}
queue_total() { mta -c "$CFG" postqueue -n 2>&1 | awk '$1=="total"{print $2}'; }
fail_run() {  # keep the failed run's evidence (outside WORK, which cleanup removes), then die
  local keep; keep=$(mktemp -d "${TMPDIR:-/tmp}/relay-failed.XXXXXX")
  if [[ -n $MTA_PID ]]; then
    mta -c "$CFG" postqueue -j >"$keep/postqueue-j.json" 2>&1 || true
    mta -c "$CFG" postqueue -p >"$keep/postqueue-p.txt" 2>&1 || true
  fi
  cp "$CFG/main.cf" "$CFG/master.cf" "$keep/" 2>/dev/null || true
  tail -c 256 "$WORK/sink.out" | tr '\r' '\n' | tail -2 >"$keep/sink-count.txt" 2>/dev/null || true
  [[ -f $R/start-fg.log ]] && gzip -c "$R/start-fg.log" >"$keep/start-fg.log.gz"
  [[ -f $R/maillog ]] && gzip -c "$R/maillog" >"$keep/maillog.gz"
  echo "$PROG: evidence of the failed run kept in $keep (remove it when done)" >&2
  die "$@"
}

# ------------------------------------------------------------------ setup
setup_common
port_busy "$PORT" && die "port $PORT already in use"
port_busy "$SINKPORT" && die "port $SINKPORT already in use"
postfix status >/dev/null 2>&1 && PFX_WAS_RUNNING=1

LOAD0=$(cut -d' ' -f1 /proc/loadavg)
echo "# $(date -u +%FT%TZ) commit $COMMIT, $(nproc) cpus, smtp-source ${SRC_FLAGS[*]}, runs=$RUNS"
: > "$WORK/r.acc"; : > "$WORK/r.drn"
DEFERRED=0; WARNINGS=0
for i in $(seq "$RUNS"); do
  R="$WORK/run$i"; CFG="$R/etc"; mkdir -p "$CFG"
  printf 'queue_directory = %s/queue\nmaillog_file = %s/maillog\nrelayhost = [127.0.0.1]:%s\n' "$R" "$R" "$SINKPORT" > "$CFG/main.cf"
  printf '127.0.0.1:%s inet n - n - - smtpd\nsmtp unix - - n - - smtp\nrelay unix - - n - - smtp\n' "$PORT" > "$CFG/master.cf"
  wait_quiet

  smtp-sink -c -u root "127.0.0.1:$SINKPORT" 1000 >"$WORK/sink.out" 2>&1 &
  SINK_PID=$!
  wait_port "$SINKPORT" || die "smtp-sink did not listen on 127.0.0.1:$SINKPORT"
  "${MTA_CMD[@]}" -c "$CFG" start-fg >"$R/start-fg.log" 2>&1 &
  MTA_PID=$!
  wait_port "$PORT" || { tail -20 "$R/start-fg.log" >&2; die "MTA did not listen on 127.0.0.1:$PORT within 30s"; }

  run_source "$PORT" "ours" || die "run $i: smtp-source -> MTA failed"
  acc=$SRC_RATE
  deadline=$(( SECONDS + RUN_TIMEOUT ))
  while (( $(sink_count) < MESSAGES )); do
    (( SECONDS < deadline )) || fail_run "run $i: drain timeout (${RUN_TIMEOUT}s): smtp-sink counted $(sink_count)/$MESSAGES, postqueue total $(queue_total), $(grep -c 'status=deferred' "$R/maillog" || true) deferred lines"
    sleep 0.2
  done
  deadline=$(( SECONDS + RUN_TIMEOUT ))
  while total=$(queue_total); [[ $total != 0 ]]; do
    (( SECONDS < deadline )) || fail_run "run $i: drain timeout (${RUN_TIMEOUT}s): postqueue -n total '${total:-?}' after smtp-sink counted $(sink_count)"
    sleep 0.2
  done
  t_empty=$(now)
  drn=$(rate "$SRC_T0" "$t_empty")
  drn_s=$(awk -v a="$SRC_T0" -v b="$t_empty" 'BEGIN{printf "%.1f", b-a}')
  stop_mta
  sleep 0.3   # let smtp-sink print its last counter
  got=$(sink_count)
  stop_sink

  sent=$(grep -c 'status=sent' "$R/maillog" || true)
  ids=$({ grep 'status=sent' "$R/maillog" || true; } | awk '{for(i=1;i<=NF;i++) if ($i ~ /^[0-9A-F]+:$/) {print $i; break}}' | sort -u | wc -l)
  deferred=$(grep -c 'status=deferred' "$R/maillog" || true)
  warn=$(grep -cE 'warning|fatal|error' "$R/maillog" || true)
  if (( deferred + warn > 0 )); then
    echo "$PROG: run $i: maillog has $deferred status=deferred and $warn warning/fatal/error lines; first ones:" >&2
    grep -E 'status=deferred|warning|fatal|error' "$R/maillog" | head -5 >&2 || true
  fi
  DEFERRED=$(( DEFERRED + deferred )); WARNINGS=$(( WARNINGS + warn ))
  [[ $sent == "$MESSAGES" && $ids == "$MESSAGES" ]] \
    || { grep -E 'status=|warning|fatal|error' "$R/maillog" | grep -v 'status=sent' | head -10 >&2 || true
         fail_run "run $i: maillog has $sent status=sent lines ($ids distinct queue ids), expected exactly $MESSAGES"; }
  [[ $got == "$MESSAGES" ]] || fail_run "run $i: smtp-sink counted $got messages, expected exactly $MESSAGES"
  echo "$acc" >> "$WORK/r.acc"; echo "$drn" >> "$WORK/r.drn"
  printf "run %d: accept %6d msgs/s   drain %6d msgs/s (%ss)   sent=%s sink=%s deferred=%s warnings=%s\n" \
    "$i" "$acc" "$drn" "$drn_s" "$sent" "$got" "$deferred" "$warn"
  rm -rf "$R"; R=""
done
ACC=$(median < "$WORK/r.acc"); DRN=$(median < "$WORK/r.drn")

# ------------------------------------------------------------------ postfix
PFX_ACC="-"; PFX_DRN="-"; RATIO="-"; PFX_NOTE="postfix not measured"; PFX_FAIL=0
if [[ $POSTFIX_BASELINE == 1 ]]; then
  [[ -f $RELAY_SCRIPT ]] || die "relay script $RELAY_SCRIPT not found"
  echo "# postfix relay baseline: RUNS=$POSTFIX_RUNS MESSAGES=$MESSAGES $RELAY_SCRIPT relay"
  wait_quiet
  set +e
  RUNS=$POSTFIX_RUNS MESSAGES=$MESSAGES PARALLEL=$PARALLEL SIZE=$SIZE SINK_PORT=$SINKPORT RUN_TIMEOUT=$RUN_TIMEOUT \
    timeout $(( (POSTFIX_RUNS * 2 + 1) * RUN_TIMEOUT )) bash "$RELAY_SCRIPT" relay 2>&1 | tee "$WORK/relay.out"
  rc=${PIPESTATUS[0]}
  set -e
  a=$(awk '/postfix relay accept/{for(i=1;i<=NF;i++) if($i=="median") print $(i+1)}' "$WORK/relay.out")
  d=$(awk '/postfix relay drain/{for(i=1;i<=NF;i++) if($i=="median") print $(i+1)}' "$WORK/relay.out")
  if [[ $rc == 0 && $a =~ ^[0-9]+$ && $d =~ ^[0-9]+$ ]]; then
    PFX_ACC=$(thousands "$a"); PFX_DRN=$(thousands "$d"); RATIO=$(ratio "$DRN" "$d")
    PFX_NOTE="postfix runs=$POSTFIX_RUNS conc=20"
  else
    echo "$PROG: error: Postfix relay baseline exited $rc / figures unreadable; row written without them" >&2
    PFX_NOTE="POSTFIX BASELINE FAILED (exit $rc)"; PFX_FAIL=1
  fi
fi

# ------------------------------------------------------------------ report
NOTES="m=$MESSAGES s=$PARALLEL l=$SIZE, median of $RUNS (accept $(span "$WORK/r.acc"), drain $(span "$WORK/r.drn")); $PFX_NOTE; maillog: $DEFERRED deferred, $WARNINGS warning/fatal/error lines over all runs; max CPU busy before a step ${BUSY_MAX}%, load1 $LOAD0 at start, $(cut -d' ' -f1 /proc/loadavg) at end"
[[ -n $MTA_EXIT_NOTE ]] && NOTES+="; MTA exit status on stop:$MTA_EXIT_NOTE"
[[ -n $DIRTY ]] && NOTES+="; $DIRTY"
[[ -n $NOTE ]] && NOTES+="; $NOTE"
ROW="| $(date -u +%F) | $COMMIT | $(thousands "$ACC") | $(thousands "$DRN") | $PFX_ACC | $PFX_DRN | $RATIO | $NOTES |"

if [[ ! -f $RESULTS ]]; then
  mkdir -p "$(dirname "$RESULTS")"
  cat > "$RESULTS" <<HDR
# Relay throughput (smtp-source -> MTA -> smtp-sink on loopback)

Produced by \`bench/relay.sh\` (one row per run of the script; newest last). Our MTA and real
Postfix each relay every message to smtp-sink through \`relayhost = [127.0.0.1]:2526\`, in the
same run on the same machine, with the same smtp-source flags
(\`-s 20 -l 4096 -f a@example.org -t b@example.net\`, one connection per message).

| column | meaning |
|---|---|
| date | UTC date of the run |
| commit | \`git rev-parse --short HEAD\` (notes say when src/ had uncommitted changes) |
| ours accept msgs/s | MESSAGES / wall time of smtp-source against our MTA (\`postfix start-fg\`, fresh queue per run, smtp and relay delivery services in master.cf), while it is delivering at the same time |
| ours drain (end-to-end) msgs/s | MESSAGES / time from smtp-source's start until smtp-sink has counted every message and \`postqueue -n\` says \`total 0\` (polled every 0.2 s once the sink's count is complete). The maillog must then hold exactly MESSAGES \`status=sent\` lines with distinct queue ids and smtp-sink must have counted exactly MESSAGES, or the script fails |
| postfix accept / drain | the same for Postfix 3.7 as a loopback relay (\`../shared/anchors/postfix-relay-baseline.sh relay\`, default_destination_concurrency_limit 20; drain = smtp-sink counted every message and the Postfix queue directories are empty) |
| ratio drain ours/postfix | ours drain / postfix drain |
| notes | messages (m), sessions (s), size (l), runs, min-max of our runs; Postfix runs; deferred and warning/fatal/error lines in our maillogs; the highest whole-machine CPU busy % sampled just before a step (the script waits up to QUIET_WAIT=300 s for it to fall below QUIET_PCT=20 %) and the 1-minute load average, since other work on the box skews every figure; non-zero MTA exit on stop; anything unusual |

Medians of RUNS runs of ours (default 3), POSTFIX_RUNS of Postfix (default 1: it is slow).
$(machine_line); smtp-source, the MTA and smtp-sink share the CPUs.

Reproduce (as root): \`MESSAGES=50000 RUNS=3 bench/relay.sh\` (knobs: \`POSTFIX_RUNS=1
POSTFIX_BASELINE=1 PORT=2525 SINKPORT=2526 RUN_TIMEOUT=300\`; the baseline reconfigures the
system Postfix as a loopback-only relay on 127.0.0.1:2425 and stops it again).

| date | commit | ours accept msgs/s | ours drain (end-to-end) msgs/s | postfix accept msgs/s | postfix drain msgs/s | ratio drain ours/postfix | notes |
|---|---|---|---|---|---|---|---|
HDR
fi
echo "$ROW" >> "$RESULTS"
echo "$ROW"
exit $(( PFX_FAIL ))
