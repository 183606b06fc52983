#!/bin/bash
# test_cli_viz.sh CNNZOO TMPDIR - `cnnzoo viz`: every kind draws a PNG and
# dumps JSON with the shipped LeNet-5 on a Fashion-MNIST test image; an
# image of another size is resized as `classify` resizes it; a wrong layer
# exits 2 listing the valid ones; bad arguments exit 2 with one line.
set -u
. "$(dirname "$0")/lib.sh" "$@"

root=$(cd "$(dirname "$0")/../.." && pwd)
weights=$root/data/lenet5_fashion.safetensors
image=$root/docs/viz/fashion_ankle_boot.png
py=/usr/bin/python3

# png_size FILE: "WIDTH HEIGHT" of a PNG, or not-a-png.
png_size() {
    $py -c 'import sys; from PIL import Image
im = Image.open(sys.argv[1]); print(im.format == "PNG" and "%d %d" % im.size or "not-a-png")' "$1"
}

# json_get FILE EXPR: evaluates EXPR on the parsed JSON as `j`.
json_get() {
    $py -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

expect 0 "" -- "$cz" viz --help
grep -q -- "--layer" "$tmp/out" || fail "viz --help does not describe --layer"
expect 0 "" -- "$cz" --help
grep -q "^  viz " "$tmp/out" || fail "cnnzoo --help does not list viz"

for kind in saliency gradcam occlusion features deconv; do
    expect 0 "" -- "$cz" viz $kind lenet5 --weights "$weights" "$image" \
        --output "$tmp/$kind.png" --json "$tmp/$kind.json"
    grep -q "wrote $tmp/$kind.png" "$tmp/out" || fail "$kind: $(cat "$tmp/out")"
    [ "$(png_size "$tmp/$kind.png")" != not-a-png ] || fail "$kind: no PNG"
    [ "$(json_get "$tmp/$kind.json" 'j["kind"], j["input"], j["top"][0]["class"]')" = \
        "('$kind', [1, 32, 32], 9)" ] || fail "$kind JSON: $(head -c 300 "$tmp/$kind.json")"
done
expect 0 "" -- "$cz" viz filters lenet5 --weights "$weights" --output "$tmp/filters.png" \
    --json "$tmp/filters.json"
[ "$(json_get "$tmp/filters.json" 'j["layer"], j["shape"], len(j["weight"])')" = \
    "('conv1', [6, 1, 5, 5], 150)" ] || fail "filters JSON: $(head -c 300 "$tmp/filters.json")"

# What each dump holds: saliency 32x32, Grad-CAM at relu2 (10x10) with 16
# weights, the occlusion grid, 6 conv1 maps of 28x28, deconv units whose
# reconstructions have the input's size.
[ "$(json_get "$tmp/saliency.json" 'len(j["maps"][0]["saliency"])')" = 1024 ] ||
    fail "saliency map size"
[ "$(json_get "$tmp/gradcam.json" 'j["layer"], len(j["maps"][0]["cam"]), len(j["maps"][0]["alpha"])')" = \
    "('relu2', 100, 16)" ] || fail "gradcam JSON"
[ "$(json_get "$tmp/occlusion.json" 'j["grid"], len(j["maps"][0]["occluded_probability"]), len(j["maps"][0]["top1"])')" = \
    "([16, 16], 256, 256)" ] || fail "occlusion JSON"
[ "$(json_get "$tmp/features.json" 'j["layer"], j["shape"], len(j["values"])')" = \
    "('conv1', [6, 28, 28], 4704)" ] || fail "features JSON"
[ "$(json_get "$tmp/deconv.json" 'len(j["units"]), {len(u["reconstruction"]) for u in j["units"]}')" = \
    "(9, {1024})" ] || fail "deconv JSON"

# --fill 0 hides in black: (0 - 0.2860) / 0.3530 after normalisation.
expect 0 "" -- "$cz" viz occlusion lenet5 --weights "$weights" "$image" --output "$tmp/black.png" \
    --fill 0 --size 6 --stride 3 --json "$tmp/black.json"
[ "$(json_get "$tmp/black.json" '"%.4f" % j["fill"][0], j["grid"], j["size"]')" = \
    "('-0.8102', [11, 11], 6)" ] || fail "occlusion --fill 0 --size 6 --stride 3"

# --topk 3 gives three rows; --class picks one; --layer and --channel.
expect 0 "" -- "$cz" viz gradcam lenet5 --weights "$weights" "$image" --output "$tmp/top3.png" \
    --topk 3 --layer conv1 --json "$tmp/top3.json"
[ "$(json_get "$tmp/top3.json" 'len(j["maps"]), j["layer"], len(j["maps"][0]["cam"])')" = \
    "(3, 'conv1', 784)" ] || fail "gradcam --topk 3 --layer conv1"
expect 0 "" -- "$cz" viz saliency lenet5 --weights "$weights" "$image" --output "$tmp/c7.png" \
    --class 7 --json "$tmp/c7.json"
[ "$(json_get "$tmp/c7.json" '[m["class"] for m in j["maps"]]')" = "[7]" ] || fail "--class 7"
expect 0 "" -- "$cz" viz deconv lenet5 --weights "$weights" "$image" --output "$tmp/ch.png" \
    --layer pool1 --channel 2 --units 4 --json "$tmp/ch.json"
[ "$(json_get "$tmp/ch.json" '{u["channel"] for u in j["units"]}, len(j["units"])')" = \
    "({2}, 4)" ] || fail "deconv --channel 2 --units 4"

# Another size is preprocessed as classify does: same probabilities.
$py -c 'import sys; from PIL import Image
Image.open(sys.argv[1]).resize((45, 60)).save(sys.argv[2])' "$image" "$tmp/odd.png"
expect 0 "" -- "$cz" viz saliency lenet5 --weights "$weights" "$tmp/odd.png" \
    --output "$tmp/odd_sal.png" --json "$tmp/odd.json"
expect 0 "" -- "$cz" classify lenet5 --weights "$weights" "$tmp/odd.png" --json --topk 1
cp "$tmp/out" "$tmp/classify.json"
[ "$(json_get "$tmp/odd.json" 'j["input"], j["top"][0]["class"], "%.6f" % j["top"][0]["probability"]')" = \
  "$(json_get "$tmp/classify.json" '[1, 32, 32], j[0]["top"][0]["index"], "%.6f" % j[0]["top"][0]["probability"]')" ] ||
    fail "viz and classify disagree on $tmp/odd.png"

# Wrong layers exit 2 and list the valid ones.
expect 2 "no layer 'conv9'.*conv1, relu1, pool1, conv2, relu2, pool2" -- \
    "$cz" viz gradcam lenet5 --weights "$weights" "$image" --output "$tmp/x.png" --layer conv9
expect 2 "no layer 'fc1'.*valid layers: conv1, conv2" -- \
    "$cz" viz filters lenet5 --weights "$weights" --output "$tmp/x.png" --layer fc1
expect 2 "no layer 'fc1'" -- \
    "$cz" viz features lenet5 --weights "$weights" "$image" --output "$tmp/x.png" --layer fc1

# Bad arguments.
expect 2 "unknown kind 'heatmap'" -- "$cz" viz heatmap lenet5 --weights "$weights" "$image" \
    --output "$tmp/x.png"
expect 2 "--weights is required" -- "$cz" viz saliency lenet5 "$image" --output "$tmp/x.png"
expect 2 "--output is required" -- "$cz" viz saliency lenet5 --weights "$weights" "$image"
expect 2 "IMAGE is required" -- "$cz" viz gradcam lenet5 --weights "$weights" --output "$tmp/x.png"
expect 2 "takes no IMAGE" -- "$cz" viz filters lenet5 --weights "$weights" "$image" \
    --output "$tmp/x.png"
expect 2 "unknown model 'lenet7'" -- "$cz" viz saliency lenet7 --weights "$weights" "$image" \
    --output "$tmp/x.png"
expect 2 "--class 10 is outside lenet5's 10 classes" -- "$cz" viz saliency lenet5 \
    --weights "$weights" "$image" --output "$tmp/x.png" --class 10
expect 2 "--class or --topk, not both" -- "$cz" viz saliency lenet5 --weights "$weights" \
    "$image" --output "$tmp/x.png" --class 1 --topk 2
expect 2 "--layer does not apply" -- "$cz" viz saliency lenet5 --weights "$weights" "$image" \
    --output "$tmp/x.png" --layer conv1
expect 2 "--channel applies to deconv only" -- "$cz" viz gradcam lenet5 --weights "$weights" \
    "$image" --output "$tmp/x.png" --channel 1
expect 2 "--channel 6 is outside conv1's 6 channels" -- "$cz" viz deconv lenet5 \
    --weights "$weights" "$image" --output "$tmp/x.png" --layer conv1 --channel 6
expect 2 "--stride 9 exceeds --size 8" -- "$cz" viz occlusion lenet5 --weights "$weights" \
    "$image" --output "$tmp/x.png" --stride 9
expect 2 "--fill '2' is not a pixel value" -- "$cz" viz occlusion lenet5 --weights "$weights" \
    "$image" --output "$tmp/x.png" --fill 2
expect 2 "--fill applies to occlusion only" -- "$cz" viz saliency lenet5 --weights "$weights" \
    "$image" --output "$tmp/x.png" --fill 0
expect 2 "unknown colour map 'jet'" -- "$cz" viz saliency lenet5 --weights "$weights" "$image" \
    --output "$tmp/x.png" --colormap jet
expect 1 "nothing.png" -- "$cz" viz saliency lenet5 --weights "$weights" "$tmp/nothing.png" \
    --output "$tmp/x.png"
[ ! -e "$tmp/x.png" ] || fail "a failed run left $tmp/x.png"

exit $((failures > 0))
