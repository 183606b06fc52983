#!/bin/sh
# bench/loader.sh [IMAGES] - does the loader keep up with training? Makes
# an ImageNet-like folder (JPEGs of 500x375, quality 90, as most ImageNet
# photos are), times decoding + RandomResizedCrop + flip per core with
# cz_bench_loader, and times resnet18 training steps on the same folder.
set -eu
cd "$(dirname "$0")/.."
n=${1:-256}
build=${BUILD:-build}
[ -x "$build/cz_bench_loader" ] || { echo "bench: $build/cz_bench_loader not built; run make first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp/folder" "$n" <<'PY'
import os, sys
import numpy as np
from PIL import Image
root, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
y, x = np.mgrid[0:375, 0:500].astype(np.float32)
for i in range(n):
    d = f"{root}/class{i % 4}"
    os.makedirs(d, exist_ok=True)
    base = np.stack([np.sin(x / (9 + i % 7) + c) * np.cos(y / (6 + i % 5) - c) for c in range(3)], -1)
    img = np.clip(127 + 90 * base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(f"{d}/{i}.jpg", quality=90)
PY
echo "loader, $n JPEGs of 500x375 -> 224x224 RandomResizedCrop + flip, $(date +%F)"
"$build/cz_bench_loader" "$tmp/folder" resnet18 1 "$n"
"$build/cz_bench_loader" "$tmp/folder" resnet18 2 "$n"
echo "training resnet18 on the same folder, batch 32, 2 threads, 2 loader workers:"
"$build/cnnzoo" train resnet18 --data "$tmp/folder" --epochs 1 --batch 32 --threads 2 --workers 2 \
    --out "$tmp/run" | grep '^epoch'
