#!/bin/sh
# bench/lenet_epoch.sh [EPOCHS] [BATCH] [THREADS]
# Times LeNet-5 training epochs on Fashion-MNIST in cnnzoo and in PyTorch
# (Debian's python3-torch), alternating them in one run on the same batch
# and threads, and prints each epoch's training time and the ratio.
set -eu
cd "$(dirname "$0")/.."
epochs=${1:-1}
batch=${2:-64}
threads=${3:-2}
cnnzoo=${CNNZOO:-build/cnnzoo}
[ -x "$cnnzoo" ] || { echo "bench: $cnnzoo not built; run make first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for round in 1 2; do
    "$cnnzoo" train lenet5 --data fashion-mnist --epochs "$epochs" --batch "$batch" \
        --threads "$threads" --schedule constant --out "$tmp" 2>/dev/null |
        awk '/^epoch/ { for (i = 1; i <= NF; i++) if ($i == "s") print $(i - 1) }' > "$tmp/cz.$round"
    OMP_NUM_THREADS=$threads /usr/bin/python3 bench/lenet_torch.py "$epochs" "$batch" "$threads" |
        awk '{ print $4 }' > "$tmp/pt.$round"
done

echo "LeNet-5, Fashion-MNIST train split (60000 images), batch $batch, $threads threads, $(date +%F)"
printf '%-8s %12s %12s %10s\n' round cnnzoo_s pytorch_s ratio
for round in 1 2; do
    paste "$tmp/cz.$round" "$tmp/pt.$round" | awk -v r="$round" \
        '{ printf "%-8s %12.2f %12.2f %9.2fx\n", r "." NR, $1, $2, $1 / $2 }'
done
echo "(ratio = cnnzoo time / PyTorch time; below 1 means cnnzoo is faster)"
