#!/bin/bash
# Runs the ack bench (benches/README.md) on a release build with line tables, and
# profiles the app with perf for 6 s of its `show` phase and 6 s of its `tick` phase.
# Usage: benches/profile-ack.sh OUT_DIR; then
#   perf report -i OUT_DIR/tick.data --children --sort symbol -g none
set -euo pipefail
out=${1:?usage: benches/profile-ack.sh OUT_DIR}
mkdir -p "$out"
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=false
export CARGO_PROFILE_BENCH_DEBUG=line-tables-only CARGO_PROFILE_BENCH_STRIP=false
# Built first, so the timings below start with the run itself.
cargo bench --bench ack --no-run
cargo bench --bench ack >"$out/bench.txt" 2>&1 &
pid=
for _ in $(seq 1 300); do
  pid=$(pgrep -f 'release/readiness$' | head -1 || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "the app did not start"; exit 1; }
sleep 3.5 # the setup, then into the show phase
perf record -F 1999 -g --call-graph dwarf,16384 -p "$pid" -o "$out/show.data" -- sleep 6
sleep 4 # past the end of the show phase, into the tick phase
perf record -F 1999 -g --call-graph dwarf,16384 -p "$pid" -o "$out/tick.data" -- sleep 6
wait
tail -12 "$out/bench.txt"
