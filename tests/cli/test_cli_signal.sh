#!/bin/bash
# test_cli_signal.sh CNNZOO TMPDIR - Ctrl-C and SIGTERM during `cnnzoo
# train`: the run finishes its step, writes a checkpoint that records its
# place inside the epoch, prints the command that resumes it and exits 130
# (SIGTERM: 143); that command ends with the same weights, checkpoint and
# log (but for the log's timings), byte for byte, as a run never stopped.
# A resumed run rewrites the log without the epochs it runs again. Under
# mpirun, a signal to one rank stops both after the same step, and the
# resumed run matches an unstopped one. A stop during an epoch's
# evaluation resumes from that epoch's end; a second Ctrl-C quits at once,
# leaving a checkpoint that resumes exactly. Bad logs are one-line errors.
set -u
. "$(dirname "$0")/lib.sh" "$@"
here=$(dirname "$0")
set -m # background runs get SIGINT's default action, as under a terminal

# make_idx.py's images, 1024 of them: an epoch is 64 steps (an eighth of
# a second here), time enough for a signal to land inside one.
/usr/bin/python3 - "$here" "$tmp/data" <<'EOF' || fail "could not make the dataset"
import os, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from make_idx import write
os.makedirs(sys.argv[2], exist_ok=True)
rng = np.random.default_rng(0)
for split, n in (("train", 1024), ("t10k", 64)):
    images = rng.integers(0, 256, (n, 28, 28))
    labels = images[:, :14, :14].mean(axis=(1, 2)).astype(int) % 10
    write(f"{sys.argv[2]}/{split}-images-idx3-ubyte.gz", images)
    write(f"{sys.argv[2]}/{split}-labels-idx1-ubyte.gz", labels)
EOF
args=(lenet5 --data "$tmp/data" --batch 16 --threads 1 --optim adamw --lr 0.003
      --schedule plateau:0.5:0 --seed 7 --epochs 3)
resume_line='^cnnzoo: to continue exactly where it stopped: '

# pause_for LOG: a third of the first epoch's seconds in an unstopped
# run's LOG, the wait after the first checkpoint appears that puts a
# signal inside the second epoch on a machine of any speed (the
# checkpoint appears at its rename, before the fsync of its folder).
pause_for() {
    awk -F, 'NR == 2 { printf "%.3f", $9 / 3 }' "$1"
}

# catches PID BIT: whether process PID still catches signal number BIT+1.
# The run installs its handler with SA_RESETHAND, so the bit leaves SigCgt
# in /proc/PID/status the moment the first signal is delivered. Read with
# bash builtins only: a fork per poll would give the run time to finish.
catches() {
    local key mask
    while read -r key mask; do
        [ "$key" = SigCgt: ] && return $(((16#$mask >> $2 & 1) == 0))
    done 2>/dev/null <"/proc/$1/status"
    return 1
}

# stop SIG DIR COMMAND...: starts COMMAND (a run with --out DIR) in the
# background and sends SIG $pause seconds after DIR's first checkpoint
# appears, to COMMAND, or with to_child=1 to its last child (a rank that
# mpirun started); with signals=2, the signal twice: the second as soon as
# the first has been caught (sent before, it would merge with the first;
# after a fixed wait, a busy machine let the run finish first). The status
# goes to $rc, the outputs to DIR.out and DIR.err.
to_child=0 signals=1
stop() {
    local sig=$1 dir=$2
    shift 2
    rm -rf "$dir"
    "$@" >"$dir.out" 2>"$dir.err" &
    local pid=$!
    until [ -f "$dir/lenet5.ckpt.safetensors" ] || ! kill -0 "$pid" 2>/dev/null; do
        sleep 0.02
    done
    sleep "$pause"
    local target=$pid bit=$(($(kill -l "$sig") - 1))
    [ "$to_child" -eq 1 ] && target=$(pgrep -P "$pid" | tail -n 1)
    [ -n "$target" ] && kill "-$sig" "$target" 2>/dev/null
    if [ "$signals" -eq 2 ] && [ -n "$target" ]; then
        while catches "$target" "$bit"; do :; done
        kill "-$sig" "$target" 2>/dev/null
    fi
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
pause=$(pause_for "$tmp/whole/log.csv")

# Ctrl-C inside epoch 2 (or 3, on a machine that stalled the test).
int=$tmp/int
stop_inside INT "$int" "$cz" train "${args[@]}" --out "$int" --log "$int/log.csv"
[ "$rc" -eq 130 ] || fail "SIGINT: exit status $rc, expected 130; stderr: $(cat "$int.err")"
grep -q "^stopping after step [0-9]* (epoch [23], batch [0-9]* of 64): writing $int/lenet5.ckpt.safetensors; the same signal again (Ctrl-C) quits at once" "$int.err" ||
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
epoch=$(sed -n 's/^cnnzoo: stopped by .* of epoch \([0-9]*\)).*/\1/p' "$int.err")
[ "$(wc -l <"$int/log.csv")" -eq "${epoch:-0}" ] ||
    fail "SIGINT: the log should hold the header and the $((${epoch:-1} - 1)) epochs before: $(cat "$int/log.csv")"
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

# SIGTERM: the same, with 143. Resumed with the finished log of an
# unstopped run in place of its own (as a run killed after writing an
# epoch's line, before its checkpoint, leaves it), the log loses the
# epochs the run writes again: appending would repeat them.
term=$tmp/term
stop_inside TERM "$term" "$cz" train "${args[@]}" --out "$term" --log "$term/log.csv"
[ "$rc" -eq 143 ] || fail "SIGTERM: exit status $rc, expected 143; stderr: $(cat "$term.err")"
grep -q "^cnnzoo: stopped by SIGTERM after step [0-9]* (step [0-9]* of epoch [23])" "$term.err" ||
    fail "SIGTERM: no 'stopped by' line: $(cat "$term.err")"
grep -q "$resume_line" "$term.err" || fail "SIGTERM: no resume command: $(cat "$term.err")"
cp "$tmp/whole/log.csv" "$term/log.csv"
expect 0 "" -- "$cz" train "${args[@]}" --out "$term" --log "$term/log.csv" --resume "$term/lenet5.ckpt.safetensors"
same_log "$tmp/whole/log.csv" "$term/log.csv" ||
    fail "SIGTERM: the log, resumed over a finished one, differs from an uninterrupted run's: $(cat "$term/log.csv")"
cmp -s "$tmp/whole/lenet5.safetensors" "$term/lenet5.safetensors" || fail "SIGTERM: other weights after resuming"

# A second Ctrl-C quits at once; the checkpoint it leaves (an epoch's
# end, or the place inside one if its rename came first) is whole, and
# resuming from it still ends exactly as an unstopped run. Steps of 256
# images, the second signal as soon as the first is caught: inside the
# step the first lets finish or its checkpoint's writing, unless the run
# finished both first (then it stops cleanly; tried again).
twice=$tmp/twice
targs=("${args[@]}" --batch 256)
expect 0 "" -- "$cz" train "${targs[@]}" --out "$tmp/twhole" --log "$tmp/twhole/log.csv"
pause=$(pause_for "$tmp/twhole/log.csv") signals=2
for try in 1 2 3 4; do
    stop INT "$twice" "$cz" train "${targs[@]}" --out "$twice"
    grep -q "^cnnzoo: stopped by" "$twice.err" || break
    echo "note: try $try: the run stopped cleanly before the second signal; again"
done
signals=1
grep -q "^cnnzoo: stopped by" "$twice.err" &&
    fail "second SIGINT: four runs stopped cleanly instead of quitting at once: $(cat "$twice.err")"
[ "$rc" -eq 130 ] || fail "second SIGINT: exit status $rc, expected 130; stderr: $(cat "$twice.err")"
expect 0 "" -- "$cz" train "${targs[@]}" --out "$twice" --resume "$twice/lenet5.ckpt.safetensors"
cmp -s "$tmp/twhole/lenet5.safetensors" "$twice/lenet5.safetensors" ||
    fail "second SIGINT: resuming from the checkpoint it left gives other weights"

# A stop asked during an epoch's evaluation or checkpoint takes effect
# there: the epoch's own checkpoint is the place to resume from. One step
# per epoch against 8192 test images puts nearly all of an epoch there
# (a step of 4 ms, an evaluation of about 200 ms here; with 1024 images,
# 25 ms, a busy machine let all three epochs end before the signal); the
# signal goes twice the step's time after epoch 1's checkpoint appears.
/usr/bin/python3 - "$here" "$tmp/evalheavy" <<'EOF2' || fail "could not make the dataset"
import os, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from make_idx import write
os.makedirs(sys.argv[2], exist_ok=True)
rng = np.random.default_rng(1)
for split, n in (("train", 16), ("t10k", 8192)):
    write(f"{sys.argv[2]}/{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
    write(f"{sys.argv[2]}/{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
EOF2
eargs=(lenet5 --data "$tmp/evalheavy" --batch 16 --threads 1 --seed 7 --epochs 3)
expect 0 "" -- "$cz" train "${eargs[@]}" --out "$tmp/ewhole" --log "$tmp/ewhole/log.csv"
end=$tmp/end
pause=$(awk -F, 'NR == 3 { printf "%.4f", 2 * $9 }' "$tmp/ewhole/log.csv")
for try in 1 2 3; do
    stop INT "$end" "$cz" train "${eargs[@]}" --out "$end"
    grep -q "^stopping after epoch" "$end.err" && break
    echo "note: try $try did not stop at an epoch's end; again"
done
[ "$rc" -eq 130 ] || fail "stop at an epoch's end: exit status $rc, expected 130; stderr: $(cat "$end.err")"
grep -q "^stopping after epoch [12] (step [12]): wrote $end/lenet5.ckpt.safetensors" "$end.err" ||
    fail "stop at an epoch's end: no 'stopping after epoch' line: $(cat "$end.err")"
head -c 4096 "$end/lenet5.ckpt.safetensors" | grep -aq '"cnnzoo.format":"checkpoint 1"' ||
    fail "stop at an epoch's end: the checkpoint is not an epoch's end"
expect 0 "" -- "$cz" train "${eargs[@]}" --out "$end" --resume "$end/lenet5.ckpt.safetensors"
cmp -s "$tmp/ewhole/lenet5.safetensors" "$end/lenet5.safetensors" ||
    fail "stop at an epoch's end: resuming gives other weights than an unstopped run"

# Logs that cannot be written or are not logs.
expect 1 "$tmp/no/such/log.csv: cannot create a temporary file in '$tmp/no/such'" -- \
    "$cz" train "${args[@]}" --out "$tmp/x" --log "$tmp/no/such/log.csv"
echo "notes, not a log" >"$tmp/notes.csv"
cp "$tmp/notes.csv" "$tmp/notes.kept"
expect 1 "notes.csv: not a cnnzoo training log" -- "$cz" train "${args[@]}" --out "$tmp/x" \
    --log "$tmp/notes.csv" --resume "$tmp/inside.ckpt"
cmp -s "$tmp/notes.csv" "$tmp/notes.kept" || fail "a file that is not a log was changed"

# Under mpirun: SIGTERM to one rank stops both after the same step, and
# the checkpoint resumes under mpirun only.
if command -v mpirun >/dev/null; then
    mpi=(mpirun --allow-run-as-root --oversubscribe -np 2)
    expect 0 "" -- "${mpi[@]}" "$cz" train "${args[@]}" --out "$tmp/mpi1" --log "$tmp/mpi1/log.csv"
    pause=$(pause_for "$tmp/mpi1/log.csv")
    dir=$tmp/mpi2
    to_child=1
    stop_inside TERM "$dir" "${mpi[@]}" "$cz" train "${args[@]}" --out "$dir"
    [ "$rc" -ne 0 ] || fail "mpirun: a stopped run exited 0: $(cat "$dir.err")"
    grep -q "^cnnzoo: stopped by .* after step [0-9]* (step [0-9]* of epoch [23])" "$dir.err" ||
        fail "mpirun: no 'stopped by' line inside an epoch: $(cat "$dir.err")"
    grep -q "${resume_line}mpirun -np 2 cnnzoo train" "$dir.err" ||
        fail "mpirun: the resume command lacks mpirun: $(cat "$dir.err")"
    expect 1 "stopped inside an epoch by 2 processes, resumed by 1" -- \
        "$cz" train "${args[@]}" --out "$tmp/x" --resume "$dir/lenet5.ckpt.safetensors"
    expect 0 "" -- "${mpi[@]}" "$cz" train "${args[@]}" --out "$dir" --resume "$dir/lenet5.ckpt.safetensors"
    cmp -s "$tmp/mpi1/lenet5.safetensors" "$dir/lenet5.safetensors" ||
        fail "mpirun: weights resumed from inside an epoch differ from an uninterrupted run's"

    # Ctrl-C at a terminal reaches mpirun alone (each rank has its own
    # process group); Open MPI 4 then sends the ranks SIGCONT, SIGTERM
    # odls_base_sigkill_timeout seconds later and SIGKILL as many seconds
    # after that (1 by default: README says to raise it for models whose
    # step and checkpoint take longer). A long run, so the SIGTERM lands
    # inside it (in a step, or in an evaluation: then at the epoch's end);
    # resumed up to the end of the epoch it stopped in.
    dir=$tmp/mpi3
    to_child=0 pause=0
    long=("${args[@]}" --epochs 1000)
    stop INT "$dir" "${mpi[@]}" --mca odls_base_sigkill_timeout 10 "$cz" train "${long[@]}" --out "$dir"
    if epoch=$(sed -n 's/^cnnzoo: stopped by SIGTERM after .* of epoch \([0-9]*\)).*/\1/p' "$dir.err") &&
        [ -n "$epoch" ]; then
        want="inside epoch $epoch"
    else
        epoch=$(sed -n 's/^cnnzoo: stopped by SIGTERM after epoch \([0-9]*\) .*/\1/p' "$dir.err")
        want="after epoch $epoch"
        epoch=$((${epoch:-0} + 1))
    fi
    [ "$rc" -ne 0 ] && grep -q "^cnnzoo: stopped by SIGTERM" "$dir.err" ||
        fail "Ctrl-C to mpirun: expected the ranks stopped by SIGTERM, rc $rc: $(cat "$dir.err")"
    expect 0 "" -- "${mpi[@]}" "$cz" train "${long[@]}" --epochs "$epoch" --out "$dir" \
        --resume "$dir/lenet5.ckpt.safetensors"
    grep -q "^resumed from $dir/lenet5.ckpt.safetensors $want" "$tmp/out" ||
        fail "Ctrl-C to mpirun: the checkpoint did not resume $want: $(cat "$tmp/out")"
else
    echo "note: mpirun not found; the data-parallel case was not run"
fi

[ "$failures" -eq 0 ] || { echo "$failures CLI check(s) failed"; exit 1; }
echo "all CLI checks passed"
