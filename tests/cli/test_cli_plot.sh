#!/bin/bash
# test_cli_plot.sh CNNZOO TMPDIR - `cnnzoo plot`: a generated training log
# becomes a PNG of the requested size with more than one colour, a log of
# one epoch or without test columns still plots, and bad logs exit 1 with
# one line naming the file (and the line and column where there is one).
set -u
. "$(dirname "$0")/lib.sh" "$@"

header=epoch,lr,train_loss,train_top1,test_loss,test_top1,test_top5,images_per_s,seconds
{
    echo "$header"
    for e in 1 2 3 4 5 6 7 8 9 10 11 12; do
        awk -v e="$e" 'BEGIN { printf "%d,0.02,%.4f,%.2f,%.4f,%.2f,%.2f,6158,9.7\n",
            e, 0.6 / e + 0.1, 100 - 25 / e, 0.5 / e + 0.2, 98 - 20 / e, 99.5 - 2 / e }'
    done
} >"$tmp/log.csv"

# png_info FILE: "WIDTH HEIGHT" from the IHDR chunk, which must follow the
# 8-byte signature.
png_info() {
    local sig
    sig=$(od -A n -t x1 -N 16 "$1" | tr -d ' \n')
    [ "$sig" = "89504e470d0a1a0a0000000d49484452" ] || { echo "not-a-png"; return; }
    od -A n -t u1 -j 16 -N 8 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4,
                                                  $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'
}

# colours FILE: how many distinct colours, read with PIL.
colours() {
    /usr/bin/python3 -c 'import sys; from PIL import Image
print(len(Image.open(sys.argv[1]).convert("RGB").getcolors(1 << 24)))' "$1"
}

expect 0 "" -- "$cz" plot --help
grep -q -- "--output" "$tmp/out" || fail "plot --help does not describe --output"
expect 0 "" -- "$cz" --help
grep -q "^  plot " "$tmp/out" || fail "cnnzoo --help does not list plot"

expect 0 "" -- "$cz" plot "$tmp/log.csv" --output "$tmp/curves.png"
grep -q "wrote $tmp/curves.png (1000x450, 12 epochs)" "$tmp/out" || fail "plot output: $(cat "$tmp/out")"
[ "$(png_info "$tmp/curves.png")" = "1000 450" ] || fail "default size: $(png_info "$tmp/curves.png")"
n=$(colours "$tmp/curves.png")
[ "$n" -gt 4 ] || fail "curves.png has $n colours: expected axes, text and curves"

expect 0 "" -- "$cz" plot "$tmp/log.csv" --output "$tmp/small.png" --width 480 --height 240
[ "$(png_info "$tmp/small.png")" = "480 240" ] || fail "--width/--height: $(png_info "$tmp/small.png")"
ls "$tmp" | grep -q "\.tmp" && fail "a temporary file was left behind: $(ls "$tmp")"

# One epoch, no test set, columns reordered and extra ones: still a picture.
printf '%s\n1,0.02,0.5661,78.82,,,,6158,9.7\n' "$header" >"$tmp/one.csv"
expect 0 "" -- "$cz" plot "$tmp/one.csv" --output "$tmp/one.png"
[ "$(colours "$tmp/one.png")" -gt 2 ] || fail "one-epoch plot is blank"
printf 'seconds,test_top1,epoch,note,train_loss\r\n9.7,80.5,1,a,0.9\r\n\r\n9.6,85.0,2,b,0.6\r\n' >"$tmp/reordered.csv"
expect 0 "" -- "$cz" plot "$tmp/reordered.csv" --output "$tmp/reordered.png"
grep -q "2 epochs" "$tmp/out" || fail "reordered log: $(cat "$tmp/out")"

# Bad logs exit 1 with one line naming the file, and the line where known.
expect 1 "$tmp/nowhere.csv: No such file" -- "$cz" plot "$tmp/nowhere.csv" --output "$tmp/x.png"
: >"$tmp/empty.csv"
expect 1 "$tmp/empty.csv: empty log" -- "$cz" plot "$tmp/empty.csv" --output "$tmp/x.png"
printf '\n  \n' >"$tmp/blank.csv"
expect 1 "$tmp/blank.csv: empty log" -- "$cz" plot "$tmp/blank.csv" --output "$tmp/x.png"
printf '1,0.02,0.5661,78.82,0.3855,85.53,99.80,6158,9.7\n' >"$tmp/noheader.csv"
expect 1 "$tmp/noheader.csv:1: no header" -- "$cz" plot "$tmp/noheader.csv" --output "$tmp/x.png"
printf 'epoch,lr,seconds\n1,0.1,3\n' >"$tmp/nocurves.csv"
expect 1 "$tmp/nocurves.csv:1: .*train_loss" -- "$cz" plot "$tmp/nocurves.csv" --output "$tmp/x.png"
printf '%s\n' "$header" >"$tmp/headeronly.csv"
expect 1 "$tmp/headeronly.csv: no epochs" -- "$cz" plot "$tmp/headeronly.csv" --output "$tmp/x.png"
{ head -3 "$tmp/log.csv"; echo "3,0.02,0.31,abc,0.33,87.8,99.8,6404,9.4"; } >"$tmp/nan.csv"
expect 1 "$tmp/nan.csv:4: column 'train_top1': 'abc' is not a number" -- \
    "$cz" plot "$tmp/nan.csv" --output "$tmp/x.png"
{ head -2 "$tmp/log.csv"; echo "2,0.02,inf,87.7,0.33,87.8,99.8,6404,9.4"; } >"$tmp/inf.csv"
expect 1 "$tmp/inf.csv:3: column 'train_loss'" -- "$cz" plot "$tmp/inf.csv" --output "$tmp/x.png"
{ head -2 "$tmp/log.csv"; echo "2,0.02,0.3"; } >"$tmp/short.csv"
expect 1 "$tmp/short.csv:3: 3 fields, but the header has 9" -- \
    "$cz" plot "$tmp/short.csv" --output "$tmp/x.png"
printf 'epoch,train_loss\n1,0.5\n,0.4\n' >"$tmp/noepoch.csv"
expect 1 "$tmp/noepoch.csv:3: column 'epoch' is empty" -- \
    "$cz" plot "$tmp/noepoch.csv" --output "$tmp/x.png"
printf 'epoch,train_loss\n1,0.5\0\n' >"$tmp/binary.csv"
expect 1 "$tmp/binary.csv: not a text file" -- "$cz" plot "$tmp/binary.csv" --output "$tmp/x.png"
[ -e "$tmp/x.png" ] && fail "a failed plot left $tmp/x.png"
expect 1 "$tmp/no/such/dir/x.png" -- "$cz" plot "$tmp/log.csv" --output "$tmp/no/such/dir/x.png"

# Usage errors exit 2.
expect 2 "plot: --output is required" -- "$cz" plot "$tmp/log.csv"
expect 2 "plot: missing LOG" -- "$cz" plot --output "$tmp/x.png"
expect 2 "width" -- "$cz" plot "$tmp/log.csv" --output "$tmp/x.png" --width 10
expect 2 "height" -- "$cz" plot "$tmp/log.csv" --output "$tmp/x.png" --height tall
expect 2 "unexpected argument" -- "$cz" plot "$tmp/log.csv" "$tmp/log.csv" --output "$tmp/x.png"

if [ "$failures" -ne 0 ]; then
    echo "$failures CLI check(s) failed"
    exit 1
fi
echo "all CLI checks passed"
