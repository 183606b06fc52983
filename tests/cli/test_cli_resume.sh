#!/bin/bash
# test_cli_resume.sh CNNZOO TMPDIR - checkpoints: a run stopped after 2 of
# 4 epochs and resumed ends with the same weights, byte for byte, as one
# never stopped (AdamW's state, the plateau schedule's state and the
# shuffling generator all carry over); kill -9 at random moments of a run
# that checkpoints every epoch always leaves a checkpoint that loads; bad
# checkpoints are one-line errors.
set -u
. "$(dirname "$0")/lib.sh" "$@"
here=$(dirname "$0")
/usr/bin/python3 "$here/make_idx.py" "$tmp/tiny" || fail "could not make the tiny dataset"
args=(lenet5 --data "$tmp/tiny" --batch 16 --optim adamw --lr 0.003 --schedule plateau:0.5:0 --seed 7)

expect 0 "" -- "$cz" train "${args[@]}" --epochs 4 --out "$tmp/whole"
expect 0 "" -- "$cz" train "${args[@]}" --epochs 2 --out "$tmp/half"
expect 0 "" -- "$cz" train "${args[@]}" --epochs 4 --out "$tmp/half" --resume "$tmp/half/lenet5.ckpt.safetensors"
grep -q "^resumed from .* after epoch 2" "$tmp/out" || fail "resume: no 'resumed' line: $(cat "$tmp/out")"
[ "$(grep -c '^epoch' "$tmp/out")" -eq 2 ] || fail "resume: expected epochs 3 and 4 only: $(cat "$tmp/out")"
cmp -s "$tmp/whole/lenet5.safetensors" "$tmp/half/lenet5.safetensors" ||
    fail "resumed weights differ from an uninterrupted run's"
cmp -s "$tmp/whole/lenet5.ckpt.safetensors" "$tmp/half/lenet5.ckpt.safetensors" ||
    fail "resumed checkpoint differs from an uninterrupted run's"

# kill -9 at random moments of a run that writes a checkpoint every epoch
# (about every 0.1 s), once its first checkpoint exists: waiting for it,
# not for a fixed time, keeps a loaded machine from killing every run
# before its first epoch ends.
for round in 1 2 3 4 5 6; do
    dir=$tmp/kill$round
    "$cz" train lenet5 --data "$tmp/tiny" --batch 64 --epochs 100000 --out "$dir" >/dev/null 2>&1 &
    pid=$!
    until [ -f "$dir/lenet5.ckpt.safetensors" ] || ! kill -0 "$pid" 2>/dev/null; do
        sleep 0.02
    done
    sleep "0.$((RANDOM % 9))$((RANDOM % 10))"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    ckpt=$dir/lenet5.ckpt.safetensors
    [ -f "$ckpt" ] || { fail "kill -9: the run ended before its first checkpoint"; continue; }
    expect 0 "" -- "$cz" eval lenet5 --weights "$ckpt" --data "$tmp/tiny" --non-strict
    ls "$dir" | grep -v '^lenet5.ckpt.safetensors$' | grep -q . && echo "note: leftovers: $(ls "$dir")"
done

# A diverging run stops with the step named and keeps the last good checkpoint.
cp "$tmp/half/lenet5.ckpt.safetensors" "$tmp/good.ckpt"
cp "$tmp/good.ckpt" "$tmp/kept.ckpt"
expect 1 "diverged: the loss is not finite at step [0-9]" -- "$cz" train lenet5 --data "$tmp/tiny" --batch 16 --lr 100 \
    --epochs 3 --out "$tmp/x" --checkpoint "$tmp/kept.ckpt"
cmp -s "$tmp/good.ckpt" "$tmp/kept.ckpt" || fail "divergence: the last good checkpoint changed"

# Bad checkpoints.
expect 1 "not a cnnzoo checkpoint" -- "$cz" train "${args[@]}" --epochs 4 --out "$tmp/x" --resume "$tmp/whole/lenet5.safetensors"
expect 1 "no optimizer state" -- "$cz" train lenet5 --data "$tmp/tiny" --epochs 4 --out "$tmp/x" --optim rmsprop --schedule plateau:0.5:0 --resume "$tmp/half/lenet5.ckpt.safetensors"
expect 1 "holds 4 epochs, more than the 3" -- "$cz" train "${args[@]}" --epochs 3 --out "$tmp/x" --resume "$tmp/half/lenet5.ckpt.safetensors"
head -c 2000 "$tmp/half/lenet5.ckpt.safetensors" >"$tmp/cut.safetensors"
expect 1 "cut.safetensors" -- "$cz" train "${args[@]}" --epochs 4 --out "$tmp/x" --resume "$tmp/cut.safetensors"
expect 1 "missing.safetensors" -- "$cz" train "${args[@]}" --epochs 4 --out "$tmp/x" --resume "$tmp/missing.safetensors"
# A schedule state no run saves (the fuzzer's find: a count of 1e300,
# once converted to int unchecked) is named, value and all.
expect 1 "schedule-count-1e300: metadata cnnzoo.schedule: plateau schedule state: num_bad_epochs is 1.0000000000000001e+300" -- \
    "$cz" train "${args[@]}" --epochs 4 --out "$tmp/x" --resume "$here/../../fuzz/regress/checkpoint/schedule-count-1e300"

[ "$failures" -eq 0 ] || { echo "$failures CLI check(s) failed"; exit 1; }
echo "all CLI checks passed"
