#!/bin/sh
# bench/train_step.sh [MODEL] [EPOCHS] [BATCH] [THREADS]
# Times training epochs of MODEL (default resnet18, as torchvision's
# resnet18(num_classes=10)) in cnnzoo and in PyTorch (Debian's
# python3-torch), alternating them in one run on the same data, batch,
# threads and optimiser (SGD lr 0.02, momentum 0.9, weight decay 5e-4,
# constant rate, no augmentation, one loader worker), and prints each
# epoch's training time, ms per step, the ratio, the test top-1 of each,
# and the training GFLOP/s achieved. PyTorch takes one untimed warm-up
# step on a copy of its model first. The load average is printed too:
# on a shared machine other jobs skew both sides' times.
# The data is a learnable CIFAR-10 stand-in made once per run by
# bench/make_cifar_like.py: N_TRAIN training and N_TEST test images
# (default 1024 and 512; the environment sets them). MODEL lenet5 uses
# Fashion-MNIST instead, as bench/lenet_epoch.sh does.
# CNNZOO=path picks the binary (default build/cnnzoo).
set -eu
cd "$(dirname "$0")/.."
model=${1:-resnet18}
epochs=${2:-1}
batch=${3:-64}
threads=${4:-2}
n_train=${N_TRAIN:-1024}
n_test=${N_TEST:-512}
lr=0.02
momentum=0.9
wd=0.0005
cnnzoo=${CNNZOO:-build/cnnzoo}
[ -x "$cnnzoo" ] || { echo "bench: $cnnzoo not built; run make first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$model" = lenet5 ]; then
    data=fashion-mnist
    input=1x32x32
    n_train=60000
    what="Fashion-MNIST train split ($n_train images, 10000 test)"
else
    data=cifar10:$tmp/data
    input=3x32x32
    /usr/bin/python3 bench/make_cifar_like.py "$tmp/data" "$n_train" "$n_test"
    what="make_cifar_like.py data ($n_train train, $n_test test images, 3x32x32, seed 1)"
fi
# forward multiply-adds per image, from the summary's JSON header
macs=$("$cnnzoo" summary "$model" --input "$input" --classes 10 --json |
    sed -n '1s/.*"macs": \([0-9]*\), "layers".*/\1/p')

load0=$(cut -d' ' -f1-3 /proc/loadavg)
for round in 1 2; do
    if ! "$cnnzoo" train "$model" --data "$data" --epochs "$epochs" --batch "$batch" \
        --threads "$threads" --workers 1 --optim sgd --lr "$lr" --momentum "$momentum" \
        --wd "$wd" --schedule constant --augment none --seed 1 --out "$tmp/out" \
        --log "$tmp/cz.$round.csv" > "$tmp/cz.$round.log" 2>&1; then
        tail -5 "$tmp/cz.$round.log" >&2
        exit 1
    fi
    # epoch, train seconds, test top-1 (%)
    awk -F, 'NR > 1 { print $1, $9, $6 }' "$tmp/cz.$round.csv" > "$tmp/cz.$round"
    # train seconds, steps, test top-1 (%)
    OMP_NUM_THREADS=$threads /usr/bin/python3 bench/train_step_torch.py "$model" "$tmp/data" \
        "$epochs" "$batch" "$threads" "$lr" "$momentum" "$wd" |
        awk '{ print $4, $8, 100 * $12 }' > "$tmp/pt.$round"
    [ -s "$tmp/pt.$round" ] || { echo "bench: train_step_torch.py printed nothing" >&2; exit 1; }
done

echo "$model training, $what, batch $batch, $threads threads, $(date +%F)"
echo "load average before: $load0, after: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
echo "SGD lr $lr momentum $momentum wd $wd, constant rate, no augmentation, cnnzoo --workers 1"
printf '%-6s %9s %9s %8s %9s %9s %8s %8s %10s %10s\n' round cnnzoo_s torch_s ratio \
    cz_ms/st pt_ms/st cz_top1 pt_top1 cz_GFLOP/s pt_GFLOP/s
for round in 1 2; do
    paste -d' ' "$tmp/cz.$round" "$tmp/pt.$round" | awk -v r="$round" -v n="$n_train" \
        -v macs="$macs" '{
            flop = 6 * macs * n / 1e9   # GFLOP of one training epoch
            printf "%-6s %9.2f %9.2f %7.2fx %9.1f %9.1f %7.2f%% %7.2f%% %10.2f %10.2f\n",
                r "." $1, $2, $4, $2 / $4, 1000 * $2 / $5, 1000 * $4 / $5, $3, $6,
                flop / $2, flop / $4 }'
done
steps=$(( (n_train + batch - 1) / batch ))
echo "(ratio = cnnzoo time / PyTorch time; below 1 means cnnzoo is faster;"
echo " s = training pass of one epoch, test evaluation excluded; ms/st = s / $steps steps;"
echo " top1 = test top-1 after the epoch; GFLOP/s counts a training step as"
echo " 3 x forward MACs x 2 FLOPs per image, forward $macs MACs per image, conv + linear)"
