#!/bin/bash
# test_cli_bench.sh CNNZOO TMPDIR - `cnnzoo bench`: the text report has
# every field, --json parses and its MACs are `cnnzoo list`'s and
# `cnnzoo summary`'s, --layers times every conv layer (forward and
# backward with --train), --weights loads a file, and bad arguments exit 2
# with one line naming the argument. Runs are few and short: this checks
# the command, not the speed.
set -u
. "$(dirname "$0")/lib.sh" "$@"
export OMP_NUM_THREADS=2
quick=(--runs 2 --warmup 1 --min-time 0 --threads 1)

# json_get FILE EXPR: evaluates EXPR (Python, with the JSON as j) on FILE.
json_get() {
    /usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(eval("(" + sys.argv[2] + ")"))' "$1" "$2"
}

expect 0 "" -- "$cz" bench --help
for word in --batch --threads --input --classes --weights --train --runs --warmup --min-time \
    --layers --json --seed "3x the forward MACs"; do
    grep -q -- "$word" "$tmp/out" || fail "bench --help does not describe $word"
done
expect 0 "" -- "$cz" --help
grep -q "^  bench " "$tmp/out" || fail "cnnzoo --help does not list bench"

# The text report.
expect 0 "" -- "$cz" bench lenet5 --batch 3 --runs 2 --warmup 1 --min-time 0 --threads 1
for field in "model *lenet5" "mode *inference" "batch *3" "input *1x32x32" "threads *1" \
    "runs *[0-9]* timed" "median *[0-9.]* ms" "min *[0-9.]* ms" "p10 / p90 *[0-9.]* / [0-9.]* ms" \
    "max *[0-9.]* ms" "images/s *[0-9.]*" "GFLOP/s *[0-9.]*" "peak RSS *[0-9.]* MiB"; do
    grep -q "^$field" "$tmp/out" || fail "bench lenet5: no line '$field' in: $(cat "$tmp/out")"
done

# --json parses, and its MACs are those `cnnzoo list` gives the model.
expect 0 "" -- "$cz" bench lenet5 --json "${quick[@]}"
cp "$tmp/out" "$tmp/lenet5.json"
expect 0 "" -- "$cz" list --json
cp "$tmp/out" "$tmp/list.json"
list_macs=$(json_get "$tmp/list.json" '[m["macs"] for m in j if m["name"] == "lenet5"][0]')
[ "$(json_get "$tmp/lenet5.json" 'j["macs"]')" = "$list_macs" ] ||
    fail "bench --json macs $(json_get "$tmp/lenet5.json" 'j["macs"]'), list says $list_macs"
check=$(json_get "$tmp/lenet5.json" 'j["mode"] == "inference" and j["batch"] == 1 and
    j["input"] == [1, 32, 32] and j["runs"] >= 2 and
    j["ms"]["min"] <= j["ms"]["p10"] <= j["ms"]["median"] <= j["ms"]["p90"] <= j["ms"]["max"] and
    j["peak_rss_mib"] > 0 and j["gflops"] > 0 and "layers" not in j')
[ "$check" = True ] || fail "bench lenet5 --json: unexpected fields: $(cat "$tmp/lenet5.json")"

# --threads is what runs, and what the report says.
expect 0 "" -- "$cz" bench lenet5 --threads 2 --runs 2 --warmup 0 --min-time 0 --json
[ "$(json_get "$tmp/out" 'j["threads"]')" = 2 ] || fail "bench --threads 2: $(cat "$tmp/out")"

# A small ResNet at a small input: --layers lists every conv layer, with
# the MACs `cnnzoo summary` gives at that input.
expect 0 "" -- "$cz" summary resnet18 --input 3x32x32 --classes 10 --json
cp "$tmp/out" "$tmp/summary.json"
expect 0 "" -- "$cz" bench resnet18 --input 3x32x32 --classes 10 --layers --json "${quick[@]}"
cp "$tmp/out" "$tmp/resnet18.json"
convs=$(json_get "$tmp/summary.json" '" ".join(l["name"] for l in j["layers"] if l["op"] == "conv2d")')
[ "$(echo "$convs" | wc -w)" -eq 20 ] || fail "summary: resnet18 has 20 convs, got: $convs"
timed=$(json_get "$tmp/resnet18.json" '" ".join(l["name"] for l in j["layers"] if l["op"] == "conv2d")')
[ "$timed" = "$convs" ] || fail "bench --layers convs '$timed', expected '$convs'"
[ "$(json_get "$tmp/resnet18.json" 'j["macs"]')" = "$(json_get "$tmp/summary.json" 'j["macs"]')" ] ||
    fail "bench resnet18 macs differ from summary's"
check=$(json_get "$tmp/resnet18.json" 'all(l["ms"] >= 0 and l["kernel"] and
    (l["gflops"] is not None) == (l["macs"] > 0) for l in j["layers"]) and
    sorted(l["rank"] for l in j["layers"]) == list(range(1, len(j["layers"]) + 1)) and
    j["slowest"]["rank"] == 1 and abs(sum(l["percent"] for l in j["layers"]) - 100) < 0.01')
[ "$check" = True ] || fail "bench --layers --json: bad layer rows"
expect 0 "" -- "$cz" bench resnet18 --input 3x32x32 --classes 10 --layers "${quick[@]}"
for conv in $convs; do
    grep -q "^ *[0-9]*[* ]  $conv  *conv2d " "$tmp/out" || fail "bench --layers: no row for $conv"
done
grep -q "^slowest: " "$tmp/out" || fail "bench --layers names no slowest layer"

# A training step: 3x the forward MACs, forward and backward per layer.
expect 0 "" -- "$cz" bench resnet18 --input 3x32x32 --classes 10 --batch 2 --train --layers \
    --json "${quick[@]}"
cp "$tmp/out" "$tmp/train.json"
check=$(json_get "$tmp/train.json" 'j["mode"] == "train" and
    j["flop_per_step"] == 6 * j["macs"] * j["batch"] and j["optimizer_ms"] > 0 and
    all(l["bwd_ms"] > 0 for l in j["layers"] if l["op"] == "conv2d")')
[ "$check" = True ] || fail "bench --train --json: $(head -c 600 "$tmp/train.json")"
expect 0 "" -- "$cz" bench lenet5 --train --batch 4 "${quick[@]}"
grep -q "^mode *training step" "$tmp/out" || fail "bench --train: $(cat "$tmp/out")"
grep -q "x 3 / median" "$tmp/out" || fail "bench --train does not say it counts 3x the MACs"

# --weights: a LeNet-5 safetensors file of zeros (written without torch).
/usr/bin/python3 - "$tmp/zeros.safetensors" <<'PY'
import json, struct, sys
shapes = {"conv1.weight": [6, 1, 5, 5], "conv1.bias": [6], "conv2.weight": [16, 6, 5, 5],
          "conv2.bias": [16], "fc1.weight": [120, 400], "fc1.bias": [120],
          "fc2.weight": [84, 120], "fc2.bias": [84], "fc3.weight": [10, 84], "fc3.bias": [10]}
header, offset = {}, 0
for name, shape in shapes.items():
    size = 4
    for d in shape:
        size *= d
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
    offset += size
text = json.dumps(header).encode()
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + bytes(offset))
PY
expect 0 "" -- "$cz" bench lenet5 --weights "$tmp/zeros.safetensors" --json "${quick[@]}"
[ "$(json_get "$tmp/out" 'j["weights"]')" = "$tmp/zeros.safetensors" ] ||
    fail "bench --weights: $(cat "$tmp/out")"
expect 1 "$tmp/nowhere.pth" -- "$cz" bench lenet5 --weights "$tmp/nowhere.pth"

# Bad arguments: exit 2, one line naming the argument and what it takes.
expect 2 "unknown model 'nosuchnet'" -- "$cz" bench nosuchnet
expect 2 "missing MODEL" -- "$cz" bench
expect 2 "--batch expects an integer in \[1, " -- "$cz" bench lenet5 --batch 0
expect 2 "--input expects CxHxW with positive sizes.*'3x0x5'" -- "$cz" bench resnet18 --input 3x0x5
expect 2 "--input expects CxHxW" -- "$cz" bench resnet18 --input 224
expect 2 "resnet18 takes 3 input channels, --input gives 1" -- "$cz" bench resnet18 --input 1x32x32
expect 2 "alexnet.*smaller than the kernel" -- "$cz" bench alexnet --input 3x16x16
expect 2 "unknown option '--fast'" -- "$cz" bench lenet5 --fast
expect 2 "--runs expects an integer in \[1, " -- "$cz" bench lenet5 --runs 0
expect 2 "--warmup expects an integer" -- "$cz" bench lenet5 --warmup -1
expect 2 "--min-time expects a number" -- "$cz" bench lenet5 --min-time soon
expect 2 "--threads expects an integer" -- "$cz" bench lenet5 --threads two
expect 2 "--classes expects an integer" -- "$cz" bench lenet5 --classes -3
expect 2 "--layers takes no value" -- "$cz" bench lenet5 --layers=yes

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all bench CLI checks passed"
