#!/bin/bash
# test_cli_signal.sh CNNZOO TMPDIR - Ctrl-C and SIGTERM during `cnnzoo
# train`: the run finishes its step, writes a checkpoint that records its
# place inside the epoch, prints the command that resumes it and exits 130
# (SIGTERM: 143); that command ends with the same weights, checkpoint and
# log (but for the log's timings), byte for byte, as a run never stopped.
# A resumed run rewrites the log without the epochs it runs again. Under
# mpirun, a signal to one rank stops both after the same step, and the
# resumed run matches an unstopped one. Bad logs are one-line errors.
set -u
. "$(dirname "$0")/lib.sh" "$@"
here=$(dirname "$0")
set -m # background runs get SIGINT's default action, as under a terminal

# make_idx.py's images, 4096 of them: an epoch is 256 steps, long enough
# (about half a second) for a signal to land inside one.
/usr/bin/python3 - "$here" "$tmp/data" <<'EOF' || fail "could not make the dataset"
import os, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from make_idx import write
os.makedirs(sys.argv[2], exist_ok=True)
rng = np.random.default_rng(0)
for split, n in (("train", 4096), ("t10k", 64)):
    images = rng.integers(0, 256, (n, 28, 28))
    labels = images[:, :14, :14].mean(axis=(1, 2)).astype(int) % 10
    write(f"{sys.argv[2]}/{split}-images-idx3-ubyte.gz", images)
    write(f"{sys.argv[2]}/{split}-labels-idx1-ubyte.gz", labels)
EOF
args=(lenet5 --data "$tmp/data" --batch 16 --threads 1 --optim adamw --lr 0.003
      --schedule plateau:0.5:0 --seed 7 --epochs 3)
resume_line='^cnnzoo: to continue exactly where it stopped: '

# stop SIG DIR COMMAND...: starts COMMAND (a run with --out DIR) in the
# background and sends SIG once DIR's first checkpoint exists, so the
# second epoch is under way; the status goes to $rc, the outputs to
# DIR.out and DIR.err.
stop() {
    local sig=$1 dir=$2
    shift 2
    rm -rf "$dir"
    "$@" >"$dir.out" 2>"$dir.err" &
    local pid=$!
    until [ -f "$dir/lenet5.ckpt.safetensors" ] || ! kill -0 "$pid" 2>/dev/null; do
        sleep 0.02
    done
    kill "-$sig" "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
}

# stop_inside SIG DIR COMMAND...: stop, retried (twice at most) when the
# signal came so soon that the run stopped at the first epoch's end.
stop_inside() {
    for try in 1 2 3; do
        stop "$@"
        grep -q "^stopping after epoch" "$2.err" || return 0
        echo "note: try $try stopped at an epoch's end; again"
    done
}

# same_log A B: the same lines but for the timing columns.
same_log() {
    cmp -s <(cut -d, -f1-7 "$1") <(cut -d, -f1-7 "$2")
}

expect 0 "" -- "$cz" train "${args[@]}" --out "$tmp/whole" --log "$tmp/whole/log.csv"

# Ctrl-C inside epoch 2.
int=$tmp/int
stop_inside INT "$int" "$cz" train "${args[@]}" --out "$int" --log "$int/log.csv"
[ "$rc" -eq 130 ] || fail "SIGINT: exit status $rc, expected 130; stderr: $(cat "$int.err")"
grep -q "^stopping after step [0-9]* (epoch [23], batch [0-9]* of 256): writing $int/lenet5.ckpt.safetensors; the same signal again (Ctrl-C) quits at once" "$int.err" ||
    fail "SIGINT: no 'stopping after step' line inside an epoch: $(cat "$int.err")"
grep -q "^cnnzoo: stopped by SIGINT (Ctrl-C) after step [0-9]* (step [0-9]* of epoch [23]); $int/lenet5.ckpt.safetensors holds the run so far$" "$int.err" ||
    fail "SIGINT: no 'stopped by' line: $(cat "$int.err")"
grep -q "$resume_line"'cnnzoo train lenet5 .* --out '"$int --log $int/log.csv --resume $int/lenet5.ckpt.safetensors$" "$int.err" ||
    fail "SIGINT: no resume command: $(cat "$int.err")"
[ "$(wc -l <"$int.err")" -eq 3 ] || fail "SIGINT: expected 3 lines on stderr: $(cat "$int.err")"
head -c 4096 "$int/lenet5.ckpt.safetensors" | grep -aq '"cnnzoo.format":"checkpoint 2"' ||
    fail "SIGINT: the checkpoint does not record a place inside an epoch"
[ -e "$int/lenet5.safetensors" ] && fail "SIGINT: a stopped run wrote final weights"
ls "$int" | grep -q tmp && fail "SIGINT: temporary files left: $(ls "$int")"
[ "$(wc -l <"$int/log.csv")" -eq 2 ] || fail "SIGINT: the log should hold the header and epoch 1: $(cat "$int/log.csv")"
expect 0 "" -- "$cz" eval lenet5 --weights "$int/lenet5.ckpt.safetensors" --data "$tmp/data" --non-strict
cp "$int/lenet5.ckpt.safetensors" "$tmp/inside.ckpt"

# The printed command, run as printed, finishes the run exactly.
command=$(sed -n "s/${resume_line}cnnzoo //p" "$int.err")
eval "expect 0 '' -- \"\$cz\" $command"
grep -q "^resumed from $int/lenet5.ckpt.safetensors inside epoch [23], after its step [0-9]* (step [0-9]*)$" "$tmp/out" ||
    fail "resume: no 'resumed ... inside epoch' line: $(cat "$tmp/out")"
cmp -s "$tmp/whole/lenet5.safetensors" "$int/lenet5.safetensors" ||
    fail "weights resumed from inside an epoch differ from an uninterrupted run's"
cmp -s "$tmp/whole/lenet5.ckpt.safetensors" "$int/lenet5.ckpt.safetensors" ||
    fail "the checkpoint resumed from inside an epoch differs from an uninterrupted run's"
same_log "$tmp/whole/log.csv" "$int/log.csv" ||
    fail "the resumed log differs from an uninterrupted run's: $(cat "$int/log.csv")"

# Resumed again from that place, the finished log loses the epochs the
# run writes again (appending would repeat them).
expect 0 "" -- "$cz" train "${args[@]}" --out "$int" --log "$int/log.csv" --resume "$tmp/inside.ckpt" \
    --checkpoint "$tmp/again.ckpt" --save "$tmp/again.safetensors"
same_log "$tmp/whole/log.csv" "$int/log.csv" ||
    fail "a log resumed twice differs from an uninterrupted run's: $(cat "$int/log.csv")"
cmp -s "$tmp/whole/lenet5.safetensors" "$tmp/again.safetensors" || fail "resumed twice: other weights"

# SIGTERM: the same, with 143.
stop_inside TERM "$tmp/term" "$cz" train "${args[@]}" --out "$tmp/term"
[ "$rc" -eq 143 ] || fail "SIGTERM: exit status $rc, expected 143; stderr: $(cat "$tmp/term.err")"
grep -q "^cnnzoo: stopped by SIGTERM after step" "$tmp/term.err" ||
    fail "SIGTERM: no 'stopped by' line: $(cat "$tmp/term.err")"
grep -q "$resume_line" "$tmp/term.err" || fail "SIGTERM: no resume command: $(cat "$tmp/term.err")"

# Logs that cannot be written or are not logs.
expect 1 "$tmp/no/such/log.csv: cannot create a temporary file in '$tmp/no/such'" -- \
    "$cz" train "${args[@]}" --out "$tmp/x" --log "$tmp/no/such/log.csv"
echo "notes, not a log" >"$tmp/notes.csv"
cp "$tmp/notes.csv" "$tmp/notes.kept"
expect 1 "notes.csv: not a cnnzoo training log" -- "$cz" train "${args[@]}" --out "$tmp/x" \
    --log "$tmp/notes.csv" --resume "$tmp/inside.ckpt"
cmp -s "$tmp/notes.csv" "$tmp/notes.kept" || fail "a file that is not a log was changed"

# Under mpirun: SIGTERM to one rank stops both after the same step.
if command -v mpirun >/dev/null; then
    mpi=(mpirun --allow-run-as-root --oversubscribe -np 2)
    margs=("${args[@]}" --epochs 2)
    expect 0 "" -- "${mpi[@]}" "$cz" train "${margs[@]}" --out "$tmp/mpi1"
    dir=$tmp/mpi2
    rm -rf "$dir"
    "${mpi[@]}" "$cz" train "${margs[@]}" --out "$dir" >"$dir.out" 2>"$dir.err" &
    pid=$!
    until [ -f "$dir/lenet5.ckpt.safetensors" ] || ! kill -0 "$pid" 2>/dev/null; do
        sleep 0.02
    done
    rank=$(pgrep -P "$pid" cnnzoo | tail -n 1)
    [ -n "$rank" ] && kill -TERM "$rank"
    wait "$pid"
    rc=$?
    [ "$rc" -ne 0 ] || fail "mpirun: a stopped run exited 0: $(cat "$dir.err")"
    grep -q "^cnnzoo: stopped by .* after step [0-9]* (step [0-9]* of epoch 2)" "$dir.err" ||
        fail "mpirun: no 'stopped by' line inside epoch 2: $(cat "$dir.err")"
    grep -q "${resume_line}mpirun -np 2 cnnzoo train" "$dir.err" ||
        fail "mpirun: the resume command lacks mpirun: $(cat "$dir.err")"
    expect 1 "stopped inside an epoch by 2 processes, resumed by 1" -- \
        "$cz" train "${margs[@]}" --out "$tmp/x" --resume "$dir/lenet5.ckpt.safetensors"
    expect 0 "" -- "${mpi[@]}" "$cz" train "${margs[@]}" --out "$dir" --resume "$dir/lenet5.ckpt.safetensors"
    cmp -s "$tmp/mpi1/lenet5.safetensors" "$dir/lenet5.safetensors" ||
        fail "mpirun: weights resumed from inside an epoch differ from an uninterrupted run's"
else
    echo "note: mpirun not found; the data-parallel case was not run"
fi

[ "$failures" -eq 0 ] || { echo "$failures CLI check(s) failed"; exit 1; }
echo "all CLI checks passed"
