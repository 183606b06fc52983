#!/bin/bash
# test_cli_arrays.sh CNNZOO TMPDIR - training on arrays prepared
# elsewhere: `--data npy:X,Y --weights before.pth --steps 2 --no-shuffle
# --save FILE` from a torch-written resnet18 gives PyTorch's losses and,
# after two SGD steps, its weights and BatchNorm statistics within 1e-4;
# bad arrays are one-line errors.
set -u
. "$(dirname "$0")/lib.sh" "$@"
here=$(dirname "$0")
d=$tmp/arrays
/usr/bin/python3 "$here/arrays_reference.py" make "$d" || fail "could not make the arrays"

expect 0 "" -- "$cz" train resnet18 --data "npy:$d/x.npy,$d/y.npy" --weights "$d/before.pth" --classes 10 \
    --steps 2 --no-shuffle --batch 4 --optim sgd --lr 0.01 --momentum 0.9 --wd 1e-4 --save "$d/ours.safetensors" --out "$tmp/run"
grep -q "2 steps, batch 4" "$tmp/out" || fail "expected '2 steps' in: $(cat "$tmp/out")"
read -r l1 l2 <"$d/losses.txt"
grep -q "step 1 of 2).*train loss $l1 " "$tmp/out" && grep -q "step 2 of 2).*train loss $l2 " "$tmp/out" ||
    fail "losses differ from PyTorch's ($l1, $l2): $(cat "$tmp/out")"
/usr/bin/python3 "$here/arrays_reference.py" compare "$d/ours.safetensors" "$d/after.pth" 1e-4 ||
    fail "weights after two steps differ from PyTorch's"

# Bad arrays.
/usr/bin/python3 -c "
import numpy as np
np.save('$d/x3.npy', np.zeros((4, 3, 64), np.float32))
np.save('$d/y5.npy', np.zeros(5, np.int64))
np.save('$d/yneg.npy', np.array([0, 1, -1, 2], np.int64))
np.save('$d/xrect.npy', np.zeros((4, 3, 64, 32), np.float32))"
expect 1 "x3.npy: expected images (N, C, H, W)" -- "$cz" train resnet18 --data "npy:$d/x3.npy,$d/y.npy" --steps 1
expect 1 "y5.npy: expected 4 labels" -- "$cz" train resnet18 --data "npy:$d/x.npy,$d/y5.npy" --steps 1
expect 1 "label -1 of sample 2" -- "$cz" train resnet18 --data "npy:$d/x.npy,$d/yneg.npy" --steps 1
expect 1 "square" -- "$cz" train resnet18 --data "npy:$d/xrect.npy,$d/y.npy" --steps 1
expect 2 "expected npy:IMAGES.npy,LABELS.npy" -- "$cz" train resnet18 --data "npy:$d/x.npy" --steps 1
expect 2 "labels up to [0-9], but resnet18 is built for 5 classes" -- "$cz" train resnet18 --data "npy:$d/x.npy,$d/y.npy" --classes 5 --steps 1

[ "$failures" -eq 0 ] || { echo "$failures CLI check(s) failed"; exit 1; }
echo "all CLI checks passed"
