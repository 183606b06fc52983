#!/bin/bash
# test_cli.sh CNNZOO TMPDIR - the CLI as a user meets it: help, list, a
# short train + eval, and bad input. Every bad input must exit non-zero
# with one line "cnnzoo: error: ..." naming the problem, and never crash.
set -u
. "$(dirname "$0")/lib.sh" "$@"
here=$(dirname "$0")

# Help and the happy path.
expect 0 "" -- "$cz" --help
expect 0 "" -- "$cz" train --help
expect 0 "" -- "$cz" eval --help
expect 0 "" -- "$cz" list --help
expect 0 "" -- "$cz" list
grep -q "^lenet5 .*61706" "$tmp/out" || fail "list: lenet5 should show 61706 parameters: $(cat "$tmp/out")"
"$cz" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "^usage: cnnzoo <command>" "$tmp/err" || fail "bare cnnzoo: expected usage on stderr and exit 2"

/usr/bin/python3 "$here/make_idx.py" "$tmp/tiny" || fail "could not make the tiny dataset"
expect 0 "" -- "$cz" train lenet5 --data "$tmp/tiny" --epochs 1 --batch 32 --out "$tmp/run"
grep -q "^test accuracy: " "$tmp/out" || fail "train printed no test accuracy: $(cat "$tmp/out")"
[ -s "$tmp/run/lenet5.safetensors" ] || fail "train wrote no checkpoint"
expect 0 "" -- "$cz" eval lenet5 --weights "$tmp/run/lenet5.safetensors" --data "$tmp/tiny"
grep -q "^test accuracy: " "$tmp/out" || fail "eval printed no test accuracy: $(cat "$tmp/out")"

# Optimizers, schedules, the CSV log and its plot.
expect 0 "" -- "$cz" train lenet5 --data "$tmp/tiny" --epochs 2 --batch 32 --optim adamw --lr 0.001 \
    --schedule cosine:1 --label-smoothing 0.1 --out "$tmp/run2" --log "$tmp/run2/log.csv"
[ "$(head -1 "$tmp/run2/log.csv")" = "epoch,lr,train_loss,train_top1,test_loss,test_top1,test_top5,images_per_s,seconds" ] ||
    fail "--log: unexpected header: $(head -1 "$tmp/run2/log.csv")"
[ "$(wc -l <"$tmp/run2/log.csv")" -eq 3 ] || fail "--log: expected a header and 2 epochs: $(cat "$tmp/run2/log.csv")"
grep -q "^1,0.000333333," "$tmp/run2/log.csv" && grep -q "^2,0.001," "$tmp/run2/log.csv" ||
    fail "cosine:1 should warm up from lr/3 to lr in one epoch: $(cat "$tmp/run2/log.csv")"
expect 0 "" -- "$cz" train lenet5 --data "$tmp/tiny" --epochs 1 --batch 32 --optim rmsprop-tf --lr 0.001 --no-decay-1d --out "$tmp/run2"
expect 0 "" -- "$cz" train lenet5 --data "$tmp/tiny" --epochs 1 --batch 32 --nesterov --schedule step:1:0.1 --out "$tmp/run2"
expect 0 "" -- "$cz" plot "$tmp/run2/log.csv" --output "$tmp/run2/curves.png"
[ -s "$tmp/run2/curves.png" ] || fail "plot wrote no PNG"
expect 2 "--optim expects" -- "$cz" train lenet5 --data "$tmp/tiny" --optim adam
expect 2 "--schedule: .*unknown schedule" -- "$cz" train lenet5 --data "$tmp/tiny" --schedule sometimes
expect 2 "--schedule: .*warmup" -- "$cz" train lenet5 --data "$tmp/tiny" --epochs 2 --schedule cosine:5
expect 1 "$tmp/nowhere/x/log.csv: cannot create a temporary file" -- "$cz" train lenet5 --data "$tmp/tiny" --epochs 1 --log "$tmp/nowhere/x/log.csv"
# A log that is not a regular file is written as a stream: /dev/stdout
# (here redirected to a file, its lines in order with the rest) and a FIFO.
expect 0 "" -- "$cz" train lenet5 --data "$tmp/tiny" --epochs 2 --batch 32 --out "$tmp/run2" --log /dev/stdout
[ "$(grep -c "^epoch,lr,\|^[12],0.02," "$tmp/out")" -eq 3 ] && grep -A1 "^epoch  2/2" "$tmp/out" | grep -q "^2,0.02," ||
    fail "--log /dev/stdout: expected the header and 2 lines, each after its epoch: $(cat "$tmp/out")"
mkfifo "$tmp/log.fifo"
timeout 600 cat "$tmp/log.fifo" >"$tmp/fifo.csv" &
reader=$!
expect 0 "" -- "$cz" train lenet5 --data "$tmp/tiny" --epochs 2 --batch 32 --out "$tmp/run2" --log "$tmp/log.fifo"
# A writer opened and closed (read-write, which never blocks) ends a
# reader still waiting for one if cnnzoo never opened the FIFO.
exec 3<>"$tmp/log.fifo" && exec 3>&-
wait "$reader"
[ "$(wc -l <"$tmp/fifo.csv")" -eq 3 ] || fail "--log FIFO: expected a header and 2 epochs: $(cat "$tmp/fifo.csv")"

# Recipes set the paper's settings; explicit options override them.
expect 0 "" -- "$cz" train lenet5 --data "$tmp/tiny" --recipe resnet --epochs 1 --batch 32 --lr 0.05 --out "$tmp/run2"
grep -q "^sgd lr 0.05 momentum 0.9 weight decay 0.0001, schedule step:30:0.1" "$tmp/out" ||
    fail "--recipe resnet --lr 0.05: $(cat "$tmp/out")"
expect 0 "" -- "$cz" train lenet5 --data "$tmp/tiny" --recipe=efficientnet --epochs 1 --batch 32 --out "$tmp/run2"
grep -q "^rmsprop-tf lr 0.256 .*schedule exp:0.97:2.4, label smoothing 0.1" "$tmp/out" ||
    fail "--recipe=efficientnet: $(cat "$tmp/out")"
expect 2 "--recipe expects alexnet, vgg" -- "$cz" train lenet5 --data "$tmp/tiny" --recipe lenet
expect 2 "no paper initialisation for lenet5" -- "$cz" train lenet5 --data "$tmp/tiny" --init paper

# Usage errors exit 2.
expect 2 "unknown model 'lenet6'" -- "$cz" train lenet6 --data "$tmp/tiny"
expect 2 "batch" -- "$cz" train lenet5 --data "$tmp/tiny" --batch -5
expect 2 "batch" -- "$cz" train lenet5 --data "$tmp/tiny" --batch 0
expect 2 "epochs" -- "$cz" train lenet5 --data "$tmp/tiny" --epochs ten
expect 2 "lr" -- "$cz" train lenet5 --data "$tmp/tiny" --lr
expect 2 "unknown option '--bogus'" -- "$cz" train lenet5 --bogus 1
expect 2 "data" -- "$cz" train lenet5
expect 2 "unknown command 'trian'" -- "$cz" trian lenet5
expect 2 "weights" -- "$cz" eval lenet5 --data "$tmp/tiny"

# A missing dataset.
expect 1 "$tmp/nowhere: no such folder" -- "$cz" train lenet5 --data "$tmp/nowhere"

# An IDX file with a wrong magic number, and a truncated one.
cp -r "$tmp/tiny" "$tmp/badmagic"
printf '\x00\x00\x09\x03\x00\x00\x00\x01\x00\x00\x00\x1c\x00\x00\x00\x1c' | gzip >"$tmp/badmagic/train-images-idx3-ubyte.gz"
expect 1 "train-images-idx3-ubyte.gz" -- "$cz" train lenet5 --data "$tmp/badmagic"
grep -q -i "magic\|type" "$tmp/err" || fail "wrong magic: message does not say so: $(cat "$tmp/err")"
cp -r "$tmp/tiny" "$tmp/truncated"
gzip -dc "$tmp/tiny/train-images-idx3-ubyte.gz" | head -c 5000 | gzip >"$tmp/truncated/train-images-idx3-ubyte.gz"
expect 1 "train-images-idx3-ubyte.gz" -- "$cz" train lenet5 --data "$tmp/truncated"
grep -q -i "truncat\|expected\|short" "$tmp/err" || fail "truncated IDX: unclear message: $(cat "$tmp/err")"

# Truncated and corrupt safetensors, and a missing weights file.
good="$tmp/run/lenet5.safetensors"
head -c 1000 "$good" >"$tmp/trunc.safetensors"
expect 1 "trunc.safetensors" -- "$cz" eval lenet5 --weights "$tmp/trunc.safetensors" --data "$tmp/tiny"
cp "$good" "$tmp/corrupt.safetensors"
printf 'XXXX' | dd of="$tmp/corrupt.safetensors" bs=1 seek=8 conv=notrunc 2>/dev/null
expect 1 "corrupt.safetensors" -- "$cz" eval lenet5 --weights "$tmp/corrupt.safetensors" --data "$tmp/tiny"
printf '\xff\xff\xff\xff\xff\xff\xff\x7f{}' >"$tmp/huge.safetensors"
expect 1 "huge.safetensors" -- "$cz" eval lenet5 --weights "$tmp/huge.safetensors" --data "$tmp/tiny"
expect 1 "missing.safetensors" -- "$cz" eval lenet5 --weights "$tmp/missing.safetensors" --data "$tmp/tiny"

if [ "$failures" -ne 0 ]; then
    echo "$failures CLI check(s) failed"
    exit 1
fi
echo "all CLI checks passed"
