#!/bin/bash
# test_cli_classify.sh CNNZOO TMPDIR - `cnnzoo classify` against PyTorch:
# on JPEG/PNG images and .pth weights written by tools/classify_reference.py
# (resnet18, resnet18 with ten crops, googlenet with transform_input,
# lenet5 on grey input), the top-5 indices must equal PyTorch's and the
# probabilities agree within 1e-4. The network alone is also run on
# torchvision's own preprocessed batch (`cnnzoo forward`), so a mismatch
# says whether preprocessing or the network is at fault. Then bad input:
# one line "cnnzoo: error: ..." naming the problem, exit 1 (or 2 for usage).
set -u
. "$(dirname "$0")/lib.sh" "$@"
here=$(dirname "$0")
root="$here/../.."

ref="$tmp/ref"
if ! /usr/bin/python3 "$root/tools/classify_reference.py" "$ref"; then
    echo "FAIL: tools/classify_reference.py could not write the reference"
    exit 1
fi

# Every case of expected.json, with --batch 2 so batches are split and
# the last one is short.
/usr/bin/python3 - "$cz" "$ref" <<'EOF' || failures=$((failures + 1))
import json, os, subprocess, sys

import numpy as np

cz, ref = sys.argv[1:3]
TOL = 1e-4

def softmax_top5(logits):
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = z / z.sum(axis=1, keepdims=True)
    idx = np.argsort(-p, axis=1, kind="stable")[:, :5]
    return idx, np.take_along_axis(p, idx, axis=1)

def compare(name, what, want, got_idx, got_p):
    """want: per image [[index, probability]...]; returns True if equal."""
    worst, ok = 0.0, True
    for i, top in enumerate(want):
        if [t[0] for t in top] != list(got_idx[i]):
            print(f"FAIL: {name} ({what}): image {i}: top-5 {list(got_idx[i])}, "
                  f"PyTorch {[t[0] for t in top]}")
            ok = False
        worst = max(worst, max(abs(t[1] - q) for t, q in zip(top, got_p[i])))
    print(f"{name} ({what}): top-5 {'match' if ok else 'DIFFER'}, "
          f"max |probability - PyTorch's| = {worst:.2e}")
    if worst > TOL:
        print(f"FAIL: {name} ({what}): probabilities differ by {worst:.2e} > {TOL}")
    return ok and worst <= TOL

def network_alone(case):
    """`cnnzoo forward` on torchvision's preprocessed batch (transform_input
    already applied for googlenet, which forward does not do)."""
    out = os.path.join(ref, case["name"] + ".logits.npy")
    r = subprocess.run([cz, "forward", case["model"], "--weights",
                        os.path.join(ref, case["weights"]), "--input",
                        os.path.join(ref, case["name"] + ".input.npy"), "--output", out],
                       capture_output=True, text=True)
    if r.returncode:
        print(f"FAIL: {case['name']}: forward exited {r.returncode}: {r.stderr.strip()}")
        return False
    logits = np.load(out).astype(np.float64)
    if case["tencrop"]:
        logits = logits.reshape(-1, 10, logits.shape[-1]).mean(axis=1)
    return compare(case["name"], "network alone", case["top"], *softmax_top5(logits))

def classify(case):
    images = [os.path.join(ref, i) for i in case["images"]]
    cmd = [cz, "classify", case["model"], "--weights", os.path.join(ref, case["weights"]),
           "--json", "--batch", "2"] + (["--tencrop"] if case["tencrop"] else []) + images
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        print(f"FAIL: {' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
        return False
    got = json.loads(r.stdout)
    if [g["image"] for g in got] != images:
        print(f"FAIL: {case['name']}: images {[g['image'] for g in got]}, expected {images}")
        return False
    idx = [[t["index"] for t in g["top"]] for g in got]
    prob = [[t["probability"] for t in g["top"]] for g in got]
    return compare(case["name"], "classify", case["top"], idx, prob)

ok = True
for case in json.load(open(os.path.join(ref, "expected.json")))["cases"]:
    ok &= network_alone(case)
    ok &= classify(case)
sys.exit(0 if ok else 1)
EOF

# Text output: rank, index, ImageNet name, probability; names from data/.
w18="$ref/resnet18.pth"
expect 0 "" -- "$cz" classify resnet18 --weights "$w18" --topk 3 "$ref/noise.jpg" \
    "$ref/wide.png"
[ "$(wc -l <"$tmp/out")" -eq 8 ] ||
    fail "text output: expected 2 x (1 + 3) lines: $(cat "$tmp/out")"
line=$(sed -n 2p "$tmp/out")
idx=$(echo "$line" | awk '{print $2}')
name=$(sed -n "$((idx + 1))p" "$root/data/imagenet_classes.txt")
echo "$line" | grep -qE "^  1\. $idx $name 0\.[0-9]{4}$" ||
    fail "text output: expected '  1. $idx $name 0.xxxx', got '$line'"
head -1 "$tmp/out" | grep -qx "$ref/noise.jpg" || fail "text output: first line should be the image"

# lenet5: Fashion-MNIST names by default, --labels replaces them.
expect 0 "" -- "$cz" classify lenet5 --weights "$ref/lenet5.pth" --topk 10 "$ref/grey.png"
grep -q " Ankle boot 0\." "$tmp/out" ||
    fail "lenet5: expected Fashion-MNIST names: $(cat "$tmp/out")"
printf '%s\n' zero one two three four five six seven eight nine >"$tmp/digits.txt"
expect 0 "" -- "$cz" classify lenet5 --weights "$ref/lenet5.pth" --labels "$tmp/digits.txt" \
    --topk 10 "$ref/grey.png"
grep -q " nine 0\." "$tmp/out" || fail "--labels: names not used: $(cat "$tmp/out")"

# --transform-input off changes googlenet's answer (it is applied by default).
wg="$ref/googlenet.pth"
expect 0 "" -- "$cz" classify googlenet --weights "$wg" --json "$ref/noise.jpg"
cp "$tmp/out" "$tmp/on.json"
expect 0 "" -- "$cz" classify googlenet --weights "$wg" --json --transform-input off \
    "$ref/noise.jpg"
cmp -s "$tmp/out" "$tmp/on.json" && fail "--transform-input off: same output as on"

# Unreadable images: the file is named, exit 1, even after good ones.
expect 1 "$tmp/nowhere.jpg" -- "$cz" classify resnet18 --weights "$w18" "$tmp/nowhere.jpg"
expect 1 "$tmp/nowhere.jpg" -- "$cz" classify resnet18 --weights "$w18" --batch 1 \
    "$ref/noise.jpg" "$tmp/nowhere.jpg" "$ref/wide.png"
head -c 600 "$ref/noise.jpg" >"$tmp/truncated.jpg"
expect 1 "truncated.jpg" -- "$cz" classify resnet18 --weights "$w18" "$tmp/truncated.jpg"
echo "not an image" >"$tmp/text.png"
expect 1 "text.png" -- "$cz" classify resnet18 --weights "$w18" "$tmp/text.png"
: >"$tmp/empty.jpg"
expect 1 "empty.jpg" -- "$cz" classify resnet18 --weights "$w18" "$ref/wide.png" \
    "$tmp/empty.jpg"

# Labels that do not fit, and shipped labels that cannot be found.
printf 'cat\ndog\n' >"$tmp/two.txt"
expect 2 "two.txt: 2 class names.*expected 1000" -- \
    "$cz" classify resnet18 --weights "$w18" --labels "$tmp/two.txt" "$ref/noise.jpg"
expect 1 "$tmp/nowhere.txt" -- \
    "$cz" classify resnet18 --weights "$w18" --labels "$tmp/nowhere.txt" "$ref/noise.jpg"
expect 1 "imagenet_classes.txt" -- \
    env CNNZOO_DATA="$tmp/nodata" "$cz" classify resnet18 --weights "$w18" "$ref/noise.jpg"

# Usage errors exit 2.
expect 2 "transform-input on.*resnet18" -- \
    "$cz" classify resnet18 --weights "$w18" --transform-input on "$ref/noise.jpg"
expect 2 "transform-input.*'maybe'" -- \
    "$cz" classify googlenet --weights "$wg" --transform-input maybe "$ref/noise.jpg"
expect 2 "topk" -- "$cz" classify resnet18 --weights "$w18" --topk 0 "$ref/noise.jpg"
expect 2 "topk 11.*10 classes" -- "$cz" classify lenet5 --weights "$ref/lenet5.pth" --topk 11 \
    "$ref/grey.png"
expect 2 "tencrop.*lenet5" -- "$cz" classify lenet5 --weights "$ref/lenet5.pth" --tencrop \
    "$ref/grey.png"
expect 2 "batch" -- "$cz" classify resnet18 --weights "$w18" --batch 0 "$ref/noise.jpg"
expect 2 "weights" -- "$cz" classify resnet18 "$ref/noise.jpg"
expect 2 "IMAGE" -- "$cz" classify resnet18 --weights "$w18"
expect 2 "unknown model 'resnet19'" -- "$cz" classify resnet19 --weights "$w18" "$ref/noise.jpg"
# A mistyped model is named before the missing --weights.
expect 2 "unknown model 'resnet19'" -- "$cz" classify resnet19 "$ref/noise.jpg"
expect 0 "" -- "$cz" classify --help

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "classify CLI: all checks passed"
