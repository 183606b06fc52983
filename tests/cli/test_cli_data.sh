#!/bin/bash
# test_cli_data.sh CNNZOO TMPDIR - train and eval on what --data names
# beyond the IDX digits: an image folder of real JPEG and PNG files (with a
# corrupt, a truncated, a zero-byte and a 100000x100000-claiming file among
# them), CIFAR-10 and CIFAR-100 binaries. eval of torch-written .pth files
# must give torchvision's top-1, top-5 and loss on the same folder, with
# one crop and with ten.
set -u
. "$(dirname "$0")/lib.sh" "$@"
here=$(dirname "$0")
d=$tmp/data
/usr/bin/python3 "$here/make_datasets.py" "$d" || fail "could not make the datasets"

# Training on the folder: bad files are skipped, counted and named once.
expect 0 "" -- "$cz" train resnet18 --data "$d/folder" --epochs 1 --batch 8 --out "$tmp/run"
grep -q "3 classes, 224x224, augmentation RandomResizedCrop + flip" "$tmp/out" ||
    fail "train: expected the folder's 3 classes and RandomResizedCrop: $(cat "$tmp/out")"
grep -q "left out 1 empty file" "$tmp/out" || fail "train: zero-byte file not reported: $(cat "$tmp/out")"
grep -q "skipped 3 unreadable images (the first: .*folder/train/cat/" "$tmp/out" ||
    fail "train: corrupt, truncated and huge files not reported: $(cat "$tmp/out")"
[ "$(grep -c "skipped" "$tmp/out")" -eq 1 ] || fail "train: skipped files reported more than once"
grep -q "^test accuracy: top-1 .*, top-5 100.00% (9 images)" "$tmp/out" ||
    fail "train: expected top-1 and top-5 on the 9 val images: $(cat "$tmp/out")"
[ -s "$tmp/run/resnet18.safetensors" ] || fail "train wrote no checkpoint"
expect 0 "" -- "$cz" eval resnet18 --weights "$tmp/run/resnet18.safetensors" --data "$d/folder" --tencrop
grep -q "(9 images, ten crops)" "$tmp/out" || fail "eval --tencrop: $(cat "$tmp/out")"

# eval against torchvision: same hits, loss within 1e-4.
while read -r model crops top1 top5 loss; do
    flag=""
    [ "$crops" = 10 ] && flag=--tencrop
    expect 0 "" -- "$cz" eval "$model" --weights "$d/$model.pth" --data "$d/folder" $flag
    line=$(grep "^test accuracy" "$tmp/out")
    want1=$(awk -v k="$top1" 'BEGIN { printf "%.2f", 100 * k / 9 }')
    want5=$(awk -v k="$top5" 'BEGIN { printf "%.2f", 100 * k / 9 }')
    got=$(echo "$line" | sed -n 's/.*top-1 \([0-9.]*\)%, top-5 \([0-9.]*\)%.*loss \([0-9.]*\)$/\1 \2 \3/p')
    read -r g1 g5 gl <<<"$got"
    [ "$g1" = "$want1" ] && [ "$g5" = "$want5" ] &&
        awk -v a="$gl" -v b="$loss" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-4 * b + 1e-6) }' ||
        fail "eval $model $flag: got '$line', torchvision: top-1 $want1% top-5 $want5% loss $loss"
done <"$d/ref.txt"

# A folder of nothing but bad files fails, naming the first.
expect 1 "none of the .* images could be read" -- "$cz" train resnet18 --data "$d/allbad" --epochs 1 --out "$tmp/run"

# CIFAR-10 and CIFAR-100 binaries.
expect 0 "" -- "$cz" train nin_cifar10 --data "cifar10:$d/cifar10" --epochs 1 --batch 16 --out "$tmp/run"
grep -q "100 images, 10 classes, 32x32, augmentation pad-4 random crop + flip" "$tmp/out" ||
    fail "train cifar10: $(cat "$tmp/out")"
grep -q "^test accuracy: top-1 .*(20 images)" "$tmp/out" || fail "train cifar10: $(cat "$tmp/out")"
expect 0 "" -- "$cz" train resnet18 --data "cifar100:$d/cifar100" --epochs 1 --batch 10 --out "$tmp/run"
grep -q "20 images, 100 classes, 32x32" "$tmp/out" || fail "train cifar100: $(cat "$tmp/out")"
expect 0 "" -- "$cz" eval resnet18 --weights "$tmp/run/resnet18.safetensors" --data "cifar100:$d/cifar100"

# Usage errors.
expect 2 "--augment expects" -- "$cz" train resnet18 --data "$d/folder" --augment sideways
expect 1 "data_batch_1.bin" -- "$cz" train nin_cifar10 --data "cifar10:$d/cifar100"
expect 2 "transform-input on" -- "$cz" eval resnet18 --weights "$d/resnet18.pth" --data "$d/folder" --transform-input on
expect 2 "takes 1-channel images" -- "$cz" train lenet5 --data "cifar10:$d/cifar10"

[ "$failures" -eq 0 ] || { echo "$failures CLI check(s) failed"; exit 1; }
