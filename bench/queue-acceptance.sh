#!/bin/bash
# A sweep on real MNIST through a local redis-server and two workers, one SIGKILLed in the middle
# of a trial, then the same sweep run locally to compare: docs/scale-out.md records a run.
#   bash bench/queue-acceptance.sh [DATA_DIR] [WORK_DIR]     (after npm install; needs redis-server)
set -u
DATA=${1:-../shared/datasets}
WORK=${2:-$(mktemp -d /tmp/convts-queue-acceptance-XXXXXX)}
C="node $(dirname "$0")/../dist/src/cli/main.js"
mkdir -p "$WORK/redis" && rm -rf "$WORK/S" "$WORK/L"
PORT=$(node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
Q=redis://127.0.0.1:$PORT
GRID="--model seed-mnist --dataset mnist --data-dir $DATA --train-limit 2000 --epochs 1 --grid lr=0.01,0.05 --grid filters=4,8"
say() { echo "$(date +%H:%M:%S) $* (load $(cut -d' ' -f1-3 /proc/loadavg))"; }

say "redis-server on port $PORT; logs in $WORK"
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save '' --appendonly no > "$WORK/redis.log" 2>&1 &
REDIS=$!
until redis-cli -p "$PORT" ping > /dev/null 2>&1; do sleep 0.2; done
$C worker --queue "$Q" --data-dir "$DATA" > "$WORK/w1.log" 2>&1 &
W1=$!
$C worker --queue "$Q" --data-dir "$DATA" > "$WORK/w2.log" 2>&1 &
W2=$!
T0=$(date +%s)
$C sweep $GRID --queue "$Q" --out "$WORK/S" 2> "$WORK/owner.log" &
OWNER=$!
until grep -q '\] started' "$WORK/w1.log"; do sleep 0.2; done
sleep 6
say "SIGKILL worker 1 during $(grep -o '\[[^]]*\] started' "$WORK/w1.log" | tail -1); trials it completed: $(grep -c '\] completed' "$WORK/w1.log")"
kill -KILL $W1
wait $OWNER
say "owner exit $? after $(($(date +%s) - T0)) s"
echo "result lines:"; grep '^\[' "$WORK/owner.log"
echo "worker 2 ran:"; grep -o '\[[^]]*\] completed' "$WORK/w2.log"
echo "Redis keys left: $(redis-cli -p "$PORT" keys '*' | sort | tr '\n' ' ')"
kill -INT $W2; wait $W2
kill $REDIS; wait $REDIS 2> /dev/null
T1=$(date +%s)
$C sweep $GRID --jobs 2 --out "$WORK/L" 2> "$WORK/local.log"
say "local sweep exit $? after $(($(date +%s) - T1)) s"
strip() { sed -E 's/\| [0-9.]+ \| (completed|diverged|failed)/| s | \1/' "$1"; }
if diff <(strip "$WORK/S/sweep.md") <(strip "$WORK/L/sweep.md"); then echo "sweep.md: the same but for the seconds"; fi
for d in "$WORK"/L/*/; do
  t=$(basename "$d")
  cmp -s "$WORK/S/$t/model.safetensors" "$d/model.safetensors" && echo "$t: identical weights" || echo "$t: weights DIFFER"
done
