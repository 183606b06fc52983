#!/bin/bash
# test_cli_preprocess.sh CNNZOO TMPDIR - `cnnzoo preprocess` on real JPEG
# and PNG files must write the batch torchvision's transforms give (within
# 2/255 before Normalize; the largest difference is printed); bad files
# must be one error line naming the file, a non-zero exit, no output file.
# The images and torchvision's tensors come from tools/image_reference.py
# through CZ_IMAGE_FIXTURES.
set -u
. "$(dirname "$0")/lib.sh" "$@"
fx=${CZ_IMAGE_FIXTURES:?CZ_IMAGE_FIXTURES must name the image fixtures}

# same_as_torchvision OUT.npy STD WANT.npy... : OUT equals the WANTs
# stacked, to 2/255 once Normalize's division by STD is undone.
same_as_torchvision() {
    local got=$1 std=$2
    shift 2
    /usr/bin/python3 -c "
import numpy as np, sys
got = np.load('$got')
want = np.concatenate([np.load(f) for f in sys.argv[1:]])
if got.shape != want.shape or got.dtype != np.float32:
    sys.exit(f'{got.shape} {got.dtype}, expected {want.shape} float32')
d = float(np.abs(got - want).max()) * $std * 255
print(f'$got: max difference from torchvision {d:.6f}/255')
sys.exit(0 if d <= 2 else 1)" "$@" || fail "$got differs from torchvision"
}

run() { expect 0 "" -- "$cz" preprocess "$@"; }

run resnet50 "$fx/photo_q90.jpg" "$fx/tall.png" --output "$tmp/resnet50.npy"
same_as_torchvision "$tmp/resnet50.npy" 0.229 "$fx/pipe_resnet50_photo_q90_jpg.npy" \
    "$fx/pipe_resnet50_tall_png.npy"
run efficientnet_b3 "$fx/wide.jpg" --output "$tmp/b3.npy"
same_as_torchvision "$tmp/b3.npy" 0.229 "$fx/pipe_efficientnet_b3_wide_jpg.npy"
run inception_v4 "$fx/grey.png" "$fx/one.png" --output "$tmp/v4.npy"
same_as_torchvision "$tmp/v4.npy" 0.5 "$fx/pipe_inception_v4_grey_png.npy" \
    "$fx/pipe_inception_v4_one_png.npy"
run lenet5 "$fx/photo_q90.jpg" --output "$tmp/lenet5.npy"
same_as_torchvision "$tmp/lenet5.npy" 0.353 "$fx/pipe_lenet5_photo_q90_jpg.npy"
run alexnet "$fx/photo_q90.jpg" "$fx/tall.png" --tencrop --output "$tmp/ten.npy"
same_as_torchvision "$tmp/ten.npy" 0.229 "$fx/tencrop_alexnet_photo_q90_jpg.npy" \
    "$fx/tencrop_alexnet_tall_png.npy"

for bad in empty.png text.png truncated.jpg truncated.png corrupt.png huge.png huge.jpg; do
    expect 1 "$fx/$bad" -- "$cz" preprocess resnet50 "$fx/photo.png" "$fx/$bad" \
        --output "$tmp/bad.npy"
    [ -e "$tmp/bad.npy" ] && fail "$bad: an output was written"
done
expect 1 "$tmp/missing.jpg" -- "$cz" preprocess resnet50 "$tmp/missing.jpg" --output "$tmp/bad.npy"

# The allocation ceiling covers libjpeg's own buffers: a progressive JPEG
# keeps every DCT coefficient of the image (12 MB at 2000x2000), decoded
# only when the ceiling allows it. A baseline one needs no such buffer and
# fails at the 12 MB pixel array instead.
/usr/bin/python3 -c "
import numpy as np
from PIL import Image
img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (2000, 2000, 3), np.uint8))
img.save('$tmp/progressive.jpg', progressive=True, quality=90)
img.save('$tmp/baseline.jpg', quality=90)" || fail "could not write the large JPEGs"
CNNZOO_MAX_ALLOC=8M expect 1 "progressive.jpg: decoding this multi-scan (e.g. progressive) JPEG of 2000x2000 pixels needs more than the 8388608-byte limit" -- \
    "$cz" preprocess resnet50 "$tmp/progressive.jpg" --output "$tmp/bad.npy"
CNNZOO_MAX_ALLOC=8M expect 1 "baseline.jpg: image of 2000x2000 pixels, 3 channels needs 12000000 bytes" -- \
    "$cz" preprocess resnet50 "$tmp/baseline.jpg" --output "$tmp/bad.npy"
CNNZOO_MAX_ALLOC=64M expect 0 "" -- "$cz" preprocess resnet50 "$tmp/progressive.jpg" --output "$tmp/big.npy"
expect 2 "unknown model" -- "$cz" preprocess resnet9000 "$fx/photo.png" --output "$tmp/bad.npy"
expect 2 "output" -- "$cz" preprocess resnet50 "$fx/photo.png"
expect 2 "missing" -- "$cz" preprocess resnet50 --output "$tmp/bad.npy"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all preprocess CLI checks passed"
