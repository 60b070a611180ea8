#!/usr/bin/env bash
# memory.sh - memory of the MTA while its queue grows to MESSAGES (default 1,000,000)
# deferred messages: qmgr keeps only a small entry per queued message and at most
# qmgr_message_active_limit messages active; the FASTER log keeps a bounded window in
# memory. Loopback only, bounded in count and time. Appends a row to perf-results/memory.md.
#   MESSAGES=1000000 SIZE=4096 PARALLEL=20 PORT=2601 RUN_TIMEOUT=1800 bench/memory.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MESSAGES=${MESSAGES:-1000000}; SIZE=${SIZE:-4096}; PARALLEL=${PARALLEL:-20}
PORT=${PORT:-2601}; RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
[[ $MESSAGES =~ ^[0-9]+$ && $MESSAGES -le 2000000 ]] || { echo "MESSAGES must be <= 2000000" >&2; exit 2; }
command -v smtp-source >/dev/null || "$ROOT/scripts/install-test-deps.sh"
WORK=$(mktemp -d /tmp/mta-memory.XXXXXX)
CFG=$WORK/etc; mkdir -p "$CFG"
printf 'queue_directory = %s/queue\nmaillog_file = %s/maillog\n# fill the queue: nothing is delivered\ndefer_transports = smtp, relay\n' "$WORK" "$WORK" > "$CFG/main.cf"
printf '127.0.0.1:%s inet n - n - - smtpd\nsmtp unix - - n - - smtp\nrelay unix - - n - - smtp\n' "$PORT" > "$CFG/master.cf"
"$ROOT/postfix" -c "$CFG" start >/dev/null
PID=$(tr -d ' ' < "$WORK/queue/pid/master.pid")
cleanup() { "$ROOT/postfix" -c "$CFG" stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
rss() { awk '/VmRSS/{print int($2/1024)}' "/proc/$PID/status"; }
T0=$(date +%s)
timeout "$RUN_TIMEOUT" smtp-source -s "$PARALLEL" -m "$MESSAGES" -l "$SIZE" -f a@example.org -t b@example.net "127.0.0.1:$PORT" &
SRC=$!
MAX=0; SAMPLES=""
while kill -0 $SRC 2>/dev/null; do
  r=$(rss); (( r > MAX )) && MAX=$r
  SAMPLES="$SAMPLES $r"
  sleep 10
done
wait $SRC || { echo "smtp-source failed" >&2; exit 1; }
T1=$(date +%s)
sleep 5; END=$(rss); (( END > MAX )) && MAX=$END
COUNT=$("$ROOT/postfix" -c "$CFG" postqueue -n | awk '/^total/{print $2}')
DISK=$(du -sm "$WORK/queue" | cut -f1)
echo "queued $COUNT of $MESSAGES in $((T1-T0)) s; RSS max ${MAX} MB, at end ${END} MB; queue on disk ${DISK} MB"
echo "RSS samples (MB, every 10 s):$SAMPLES"
RES="$ROOT/perf-results/memory.md"
if [[ ! -f $RES ]]; then
  cat > "$RES" <<'H'
# Memory with a large queue (bench/memory.sh)

The MTA accepts MESSAGES messages (smtp-source, 4 KB, 20 sessions) that all stay queued
(defer_transports = smtp): the resident set size shows what a large queue costs in memory.

| date | commit | messages queued | RSS max MB | RSS at end MB | queue on disk MB | seconds | notes |
|---|---|---|---|---|---|---|---|
H
fi
echo "| $(date -u +%F) | $(git -C "$ROOT" rev-parse --short HEAD) | $COUNT | $MAX | $END | $DISK | $((T1-T0)) | RSS every 10 s:$SAMPLES |" >> "$RES"
[[ $COUNT == "$MESSAGES" ]] || { echo "queue holds $COUNT, expected $MESSAGES" >&2; exit 1; }
