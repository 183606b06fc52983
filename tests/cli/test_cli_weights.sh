#!/bin/bash
# test_cli_weights.sh CNNZOO TMPDIR - PyTorch weights through the CLI:
# `forward` and `convert` on .pth files (zip, legacy, checkpoint dict)
# must give PyTorch's logits; bad weights and bad .npy inputs must be one
# clear error line naming the file or key, a non-zero exit, no crash.
set -u
. "$(dirname "$0")/lib.sh" "$@"
here=$(dirname "$0")

# Same logits as PyTorch (y_torch.npy unless named), to 1e-4 relative, as
# max |diff| / max |ref|.
same_as_torch() {
    local want=${2:-$tmp/w/y_torch.npy}
    /usr/bin/python3 -c "
import numpy as np, sys
a, b = np.load('$1'), np.load('$want')
sys.exit(0 if a.shape == b.shape and abs(a - b).max() <= 1e-4 * abs(b).max() else 1)" ||
        fail "$1 differs from PyTorch's output $want"
}

/usr/bin/python3 "$here/make_weights.py" "$tmp/w" || { echo "FAIL: cannot make fixtures"; exit 1; }
w=$tmp/w

for f in good legacy checkpoint; do
    expect 0 "" -- "$cz" forward lenet5 --weights "$w/$f.pth" --input "$w/x.npy" --output "$tmp/y_$f.npy"
    same_as_torch "$tmp/y_$f.npy"
done
expect 0 "" -- "$cz" convert "$w/good.pth" "$tmp/good.safetensors"
expect 0 "" -- "$cz" forward lenet5 --weights "$tmp/good.safetensors" --input "$w/x.npy" --output "$tmp/y_st.npy"
same_as_torch "$tmp/y_st.npy"
for mode in train eval; do
    flag=$([ $mode = train ] && echo --train)
    expect 0 "" -- "$cz" forward resnet18 --classes 10 --weights "$w/resnet18.pth" $flag \
        --input "$w/x_resnet.npy" --output "$tmp/y_resnet_$mode.npy"
    same_as_torch "$tmp/y_resnet_$mode.npy" "$w/y_resnet_$mode.npy"
done
expect 0 "" -- "$cz" forward lenet5 --weights "$w/missing_key.pth" --non-strict --input "$w/x.npy" --output "$tmp/y_ns.npy"

# Bad weights.
expect 1 "Missing key(s): fc3.bias" -- "$cz" forward lenet5 --weights "$w/missing_key.pth" --input "$w/x.npy" --output "$tmp/y.npy"
expect 1 "Unexpected key(s): fc4.weight" -- "$cz" forward lenet5 --weights "$w/extra_key.pth" --input "$w/x.npy" --output "$tmp/y.npy"
expect 1 "size mismatch for fc3.weight" -- "$cz" forward lenet5 --weights "$w/wrong_shape.pth" --input "$w/x.npy" --output "$tmp/y.npy"
expect 1 "conv1.weight" -- "$cz" forward lenet5 --weights "$w/int_weight.pth" --input "$w/x.npy" --output "$tmp/y.npy"
expect 1 "truncated.pth" -- "$cz" forward lenet5 --weights "$w/truncated.pth" --input "$w/x.npy" --output "$tmp/y.npy"
expect 1 "truncated.pth" -- "$cz" convert "$w/truncated.pth" "$tmp/t.safetensors"
[ -e "$tmp/t.safetensors" ] && fail "a failed convert left a file behind"

# Bad inputs.
expect 1 "x_rank3.npy" -- "$cz" forward lenet5 --weights "$w/good.pth" --input "$w/x_rank3.npy" --output "$tmp/y.npy"
expect 1 "x_int.npy: dtype <i8, expected float32" -- "$cz" forward lenet5 --weights "$w/good.pth" --input "$w/x_int.npy" --output "$tmp/y.npy"
expect 1 "x_rgb.npy.*expected (N, 1, H, W)" -- "$cz" forward lenet5 --weights "$w/good.pth" --input "$w/x_rgb.npy" --output "$tmp/y.npy"
expect 1 "cannot build lenet5.*smaller than the kernel" -- "$cz" forward lenet5 --weights "$w/good.pth" --input "$w/x_small.npy" --output "$tmp/y.npy"
expect 2 "summary: --input expects CxHxW" -- "$cz" summary lenet5 --input 1x32
expect 2 "cannot build lenet5" -- "$cz" summary lenet5 --input 1x8x8
expect 2 "cannot build alexnet: features.5 (maxpool)" -- "$cz" summary alexnet --input 3x16x16
expect 2 "summary: alexnet takes 3 input channels, --input gives 1" -- "$cz" summary alexnet --input 1x224x224
expect 0 "" -- "$cz" summary lenet5 --json
expect 0 "" -- "$cz" list --json

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all weight checks passed"
