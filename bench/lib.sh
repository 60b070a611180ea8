# lib.sh - functions shared by bench/accept.sh and bench/relay.sh (sourced, not run).
#
# The caller sets, before sourcing: set -euo pipefail, LC_ALL=C, ROOT (repository root),
# PROG (script name for messages), MESSAGES, PARALLEL, SIZE, STEP_TIMEOUT, QUIET_WAIT,
# QUIET_PCT, SNAPSHOT; and, before calling anything that uses them: WORK (temp dir, removed
# by cleanup), CFG/R (config and run dir of the MTA instance being measured).
# Globals this file maintains: MTA_PID, SINK_PID, MTA_EXIT_NOTE, BUSY_MAX, MTA_CMD,
# SINK_USER, COMMIT, DIRTY, SRC_T0/SRC_T1/SRC_RATE (set by run_source).

PATH=$PATH:/usr/sbin:/sbin
MTA_PID=""; SINK_PID=""; CFG=""; R=""; MTA_EXIT_NOTE=""; BUSY_MAX=0
SRC_FLAGS=(-s "$PARALLEL" -m "$MESSAGES" -l "$SIZE" -f a@example.org -t b@example.net)

die() { echo "$PROG: error: $*" >&2; exit 1; }
port_busy() { ss -Hltn "sport = :$1" | grep -q .; }
wait_port() { for _ in $(seq 150); do port_busy "$1" && return 0; sleep 0.2; done; return 1; }
wait_gone() { for _ in $(seq "$2"); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
mta() { timeout "$STEP_TIMEOUT" "${MTA_CMD[@]}" "$@"; }

stop_mta() {
  [[ -n $MTA_PID ]] || return 0
  mta -c "$CFG" stop >>"$WORK/stop.log" 2>&1 || true
  if ! wait_gone "$MTA_PID" 300; then
    echo "$PROG: MTA pid $MTA_PID did not exit after stop; killing it" >&2
    kill "$MTA_PID" 2>/dev/null || true
    wait_gone "$MTA_PID" 50 || kill -9 "$MTA_PID" 2>/dev/null || true
  fi
  local rc=0
  wait "$MTA_PID" 2>/dev/null || rc=$?
  if [[ $rc != 0 && -n ${R:-} ]]; then
    echo "$PROG: MTA exited $rc on stop; its last output:" >&2
    tail -5 "$R/start-fg.log" >&2 || true
    MTA_EXIT_NOTE+=" $rc"
  fi
  MTA_PID=""
}
stop_sink() {
  [[ -n $SINK_PID ]] || return 0
  kill "$SINK_PID" 2>/dev/null || true
  wait_gone "$SINK_PID" 50 || kill -9 "$SINK_PID" 2>/dev/null || true
  wait "$SINK_PID" 2>/dev/null || true
  SINK_PID=""
}
cleanup() { stop_mta; stop_sink; [[ -n ${WORK:-} ]] && rm -rf "$WORK"; }

now() { date +%s.%N; }
cpu_busy_pct() {  # whole-machine busy % over one second (user+nice+sys+irq+softirq+steal)
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat); sleep 1
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); t=y[2]-x[2]; printf "%.0f", (t > 0 ? 100*(y[1]-x[1])/t : 0)}'
}
wait_quiet() {  # wait up to QUIET_WAIT s for the box to idle below QUIET_PCT; record what we started under
  local busy deadline=$(( SECONDS + QUIET_WAIT ))
  while busy=$(cpu_busy_pct); (( busy >= QUIET_PCT && SECONDS < deadline )); do sleep 2; done
  (( busy >= QUIET_PCT )) && echo "$PROG: warning: machine ${busy}% busy before a measurement (other work skews the figures)" >&2
  (( busy > BUSY_MAX )) && BUSY_MAX=$busy
  return 0
}
rate() { awk -v m="$MESSAGES" -v a="$1" -v b="$2" 'BEGIN{printf "%.0f", m/(b-a)}'; }
median() { sort -n | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "-" }'; }
thousands() { printf "%d" "$1" | sed -E ':a;s/([0-9])([0-9]{3})($|,)/\1,\2\3/;ta'; }
span() { echo "$(thousands "$(sort -n "$1" | head -1)")-$(thousands "$(sort -n "$1" | tail -1)")"; }

run_source() {  # port label -> sets SRC_T0, SRC_T1 (date +%s.%N) and SRC_RATE (msgs/s); 1 on failure
  local rc
  SRC_T0=$(now)
  set +e
  timeout "$STEP_TIMEOUT" smtp-source "${SRC_FLAGS[@]}" "127.0.0.1:$1" >"$WORK/source.out" 2>&1
  rc=$?
  set -e
  SRC_T1=$(now)
  if [[ $rc != 0 ]]; then
    echo "$PROG: smtp-source -> $2 exited $rc ($( ((rc==124)) && echo "timeout ${STEP_TIMEOUT}s"))" >&2
    tail -5 "$WORK/source.out" >&2
    return 1
  fi
  if [[ -s $WORK/source.out ]]; then echo "$PROG: smtp-source -> $2 said:" >&2; tail -5 "$WORK/source.out" >&2; fi
  SRC_RATE=$(rate "$SRC_T0" "$SRC_T1")
}

setup_common() {  # test deps, smtp-source/sink, SINK_USER, build (+ snapshot), MTA_CMD, COMMIT, DIRTY
  timeout "$STEP_TIMEOUT" "$ROOT/scripts/install-test-deps.sh" >/dev/null || die "scripts/install-test-deps.sh failed"
  command -v smtp-source >/dev/null && command -v smtp-sink >/dev/null || die "smtp-source/smtp-sink missing"
  SINK_USER=()
  if [[ $(id -u) -eq 0 ]]; then
    if id postfix >/dev/null 2>&1; then SINK_USER=(-u postfix); else SINK_USER=(-u nobody); fi
  fi
  # Build (./postfix rebuilds when src/ is newer than the build) and optionally snapshot it.
  mkdir -p "$WORK/probe"; : > "$WORK/probe/main.cf"
  timeout 900 "$ROOT/postfix" -c "$WORK/probe" check >/dev/null || die "./postfix build or check failed"
  if [[ $SNAPSHOT == 1 ]]; then
    cp -a "$ROOT/.build/Release" "$WORK/bin"
    MTA_CMD=(dotnet "$WORK/bin/postfix.dll")
  else
    MTA_CMD=("$ROOT/postfix")
  fi
  COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  DIRTY=$([[ -n $(git -C "$ROOT" status --porcelain -- src 2>/dev/null) ]] && echo "src/ had uncommitted changes" || true)
}

machine_line() {  # one line describing this box, for results-file headers
  local disk dev cpu
  disk=$(findmnt -no SOURCE,FSTYPE --target "${TMPDIR:-/tmp}" 2>/dev/null | head -1)
  dev=$(basename "$(readlink -f "${disk%% *}")" 2>/dev/null || true)
  [[ -n $dev && -e /sys/block/$dev ]] && disk+=", $(lsblk -dno SIZE "/dev/$dev" | tr -d ' '), rotational=$(cat "/sys/block/$dev/queue/rotational")"
  cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
  echo "Machine: $(nproc) CPUs ($cpu), $(free -g | awk '/^Mem:/{print $2}') GB RAM,
kernel $(uname -r), queue and temp dirs on ${disk:-?}"
}
