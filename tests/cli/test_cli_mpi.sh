#!/bin/bash
# test_cli_mpi.sh CNNZOO TMPDIR - data-parallel training over Open MPI:
# `mpirun -np 2 cnnzoo train` on a model without BatchNorm ends with the
# same weights, within 1e-5, as one process with the same global batch
# (each rank takes half of every batch; the gradients are averaged); only
# rank 0 prints and writes files; a batch that does not split is an error.
set -u
. "$(dirname "$0")/lib.sh" "$@"
here=$(dirname "$0")
command -v mpirun >/dev/null || { echo "FAIL: mpirun not found (scripts/deps.sh installs openmpi-bin)"; exit 1; }
mpi=(mpirun --allow-run-as-root --oversubscribe -np 2)
/usr/bin/python3 "$here/make_idx.py" "$tmp/tiny" || fail "could not make the tiny dataset"
args=(lenet5 --data "$tmp/tiny" --batch 16 --epochs 3 --threads 1 --schedule step:2:0.5)

expect 0 "" -- "$cz" train "${args[@]}" --out "$tmp/one"
expect 0 "" -- "${mpi[@]}" "$cz" train "${args[@]}" --out "$tmp/two" --log "$tmp/two/log.csv"
grep -q "^data-parallel over 2 processes: 8 samples each per step" "$tmp/out" ||
    fail "mpirun: no data-parallel line (built without MPI?): $(cat "$tmp/out")"
[ "$(grep -c '^epoch' "$tmp/out")" -eq 3 ] || fail "mpirun: expected 3 epoch lines from rank 0 only: $(cat "$tmp/out")"
[ "$(grep -c '^saved' "$tmp/out")" -eq 1 ] || fail "mpirun: expected one 'saved' line: $(cat "$tmp/out")"
[ "$(wc -l <"$tmp/two/log.csv")" -eq 4 ] || fail "mpirun: the log should have a header and 3 lines"
/usr/bin/python3 "$here/arrays_reference.py" compare "$tmp/two/lenet5.safetensors" "$tmp/one/lenet5.safetensors" 1e-5 ||
    fail "2 processes end with other weights than 1"

/usr/bin/python3 -c "
import numpy as np
r = np.random.default_rng(0)
np.save('$tmp/x.npy', r.standard_normal((32, 3, 32, 32)).astype(np.float32))
np.save('$tmp/y.npy', r.integers(0, 10, 32).astype(np.int64))" || fail "could not make the arrays"
bn=(resnet18 --data "npy:$tmp/x.npy,$tmp/y.npy" --classes 10 --batch 16 --steps 2 --threads 1 --no-shuffle)
expect 0 "" -- "$cz" train "${bn[@]}" --out "$tmp/bn1"
expect 0 "" -- "${mpi[@]}" "$cz" train "${bn[@]}" --out "$tmp/bn2" --sync-bn
/usr/bin/python3 "$here/arrays_reference.py" compare "$tmp/bn2/resnet18.safetensors" "$tmp/bn1/resnet18.safetensors" 1e-5 ||
    fail "--sync-bn: 2 processes end with other weights than 1"
expect 0 "" -- "${mpi[@]}" "$cz" train "${bn[@]}" --out "$tmp/bnp"
/usr/bin/python3 "$here/arrays_reference.py" compare "$tmp/bnp/resnet18.safetensors" "$tmp/bn1/resnet18.safetensors" 1e-3 >/dev/null &&
    fail "without --sync-bn, per-rank BatchNorm statistics should differ from one process's"

# Under mpirun every rank reports the error and mpirun adds its own lines.
"${mpi[@]}" "$cz" train lenet5 --data "$tmp/tiny" --batch 15 --epochs 1 --out "$tmp/x" >/dev/null 2>"$tmp/err"
[ $? -ne 0 ] && grep -q "^cnnzoo: error: train: batch 15 does not split over 2 processes" "$tmp/err" ||
    fail "mpirun with batch 15: expected an error: $(cat "$tmp/err")"

[ "$failures" -eq 0 ] || { echo "$failures CLI check(s) failed"; exit 1; }
echo "all CLI checks passed"
