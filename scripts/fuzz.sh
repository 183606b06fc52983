#!/bin/sh
# Runs every libFuzzer target (or those named) for SECONDS each, JOBS at a
# time, each from the seed corpus plus what earlier runs kept. An input that
# crashes a reader is saved as fuzz/regress/TARGET/crash-* (commit it: the
# normal test suite replays that folder), and the run fails.
#   scripts/fuzz.sh BUILD_DIR SECONDS JOBS [TARGET...]
set -eu
build=$1 seconds=$2 jobs=$3
shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=$build/fuzz/seeds corpus=$build/fuzz/corpus logs=$build/fuzz/logs
/usr/bin/python3 "$root/fuzz/make_seeds.py" "$seeds" >/dev/null
mkdir -p "$logs"
# Findings of this run are the files in fuzz/regress newer than this.
stamp=$logs/.start
touch "$stamp"

targets=${*:-$(cd "$root/fuzz" && ls fuzz_*.c | sed -n 's/^fuzz_\(.*\)\.c$/\1/p' | grep -vx util)}

run_one() {
    t=$1
    mkdir -p "$corpus/$t" "$root/fuzz/regress/$t"
    # -rss_limit_mb: a reader that allocates what a file claims before
    # checking it is a finding too. -timeout: a hang is a finding; a unit
    # that is only slow (an 80-megapixel JPEG from 170 bytes, inside PIL's
    # pixel limit, decodes in seconds as PIL's does) is not saved.
    "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 \
        -report_slow_units=100000 \
        -max_len=65536 -print_final_stats=1 -close_fd_mask=3 \
        -artifact_prefix="$root/fuzz/regress/$t/" \
        "$corpus/$t" "$seeds/$t" "$root/fuzz/regress/$t" >"$logs/$t.log" 2>&1
}

# A simple job pool: start up to $jobs targets, wait for the oldest.
status=0 running=""
for t in $targets; do
    run_one "$t" &
    running="$running $!:$t"
    set -- $running
    if [ $# -ge "$jobs" ]; then
        pid=${1%%:*} name=${1#*:}
        wait "$pid" || { echo "fuzz: $name FAILED, see $logs/$name.log"; status=1; }
        shift
        running="$*"
    fi
done
for job in $running; do
    wait "${job%%:*}" || { echo "fuzz: ${job#*:} FAILED, see $logs/${job#*:}.log"; status=1; }
done

printf '%-12s %12s %10s %8s  %s\n' target executions exec/s corpus found
for t in $targets; do
    log=$logs/$t.log
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    units=$(ls "$corpus/$t" | wc -l)
    found=$(find "$root/fuzz/regress/$t" -type f -newer "$stamp" | wc -l)
    printf '%-12s %12s %10s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$units" "$found"
done
exit $status
