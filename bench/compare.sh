#!/bin/bash
# bench/compare.sh [options] [MODEL...] - cnnzoo against ONNX Runtime and
# PyTorch eager on the same model, weights, input, batch and thread count.
#
# For each MODEL (default: the eleven of issue 6), it exports tools/zoo's
# PyTorch definition (torchvision's model where torchvision has it) with
# seeded random weights to a .pth, which cnnzoo and PyTorch load, and to
# one .onnx per batch for ONNX Runtime (bench/export_model.py, cached in
# bench/.cache), then checks that `cnnzoo forward` on that .pth gives
# torch's output. Then for each batch x threads it runs, each tool in its
# own process, for R rounds with the order of the three rotated each round:
#   cnnzoo   cnnzoo bench --json --layers --weights MODEL.pth
#   ORT      bench/ort_bench.js (onnxruntime-node from npm, installed into
#            bench/node_modules if missing; intra-op threads T, inter-op 1,
#            all graph optimisations, sequential execution)
#   PyTorch  bench/torch_bench.py (eager, eval, torch.no_grad,
#            torch.set_num_threads(T))
# every one with the same loop: --warmup untimed runs, then timed runs
# until both --runs runs and --min-time seconds are done, reporting the
# median. The table shows the median of the R per-round medians, the
# ratios (below 1: cnnzoo is faster), each process's peak RSS (the largest
# over the rounds; interpreter and runtime included), cnnzoo's achieved
# GFLOP/s (2 x conv + linear MACs x batch / time) and its slowest layer.
# --train compares `cnnzoo bench --train` with a PyTorch training step
# (random initial weights on both sides, SGD, cross-entropy; no ONNX
# Runtime column). The table is also written as markdown and CSV.
#
# options:
#   --threads "1 2"   thread counts            --batch "1 8"   batch sizes
#   --rounds R        rounds (default 3)       --train         training step
#   --runs N          timed runs at least (10) --warmup N      untimed runs (2)
#   --min-time S      timed seconds at least (1)
#   --input CxHxW     input size for every model (default: each model's own)
#   --classes K       output classes for every model (default: each model's)
#   --out FILE.md     the markdown table; FILE.csv beside it
#                     (default bench/.cache/compare-DATE-TIME.md)
#   --check           only export the models and check cnnzoo's output
# CNNZOO=path picks the binary (default: `make build`, then build/cnnzoo).
# Needs Debian's /usr/bin/python3 with python3-torch 1.13 and
# python3-torchvision 0.14, node and npm (the npm registry only).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "compare: $*" >&2; exit 2; }
command_line="bench/compare.sh$(printf ' %q' "$@")"

threads="1 2"
batches="1 8"
rounds=3
runs=10
warmup=2
min_time=1
train=0
check_only=0
input=""
classes=""
out=""
models=()
while [ $# -gt 0 ]; do
    case $1 in
    --threads) threads=${2:?--threads needs a list}; shift ;;
    --batch) batches=${2:?--batch needs a list}; shift ;;
    --rounds) rounds=${2:?--rounds needs a number}; shift ;;
    --runs) runs=${2:?--runs needs a number}; shift ;;
    --warmup) warmup=${2:?--warmup needs a number}; shift ;;
    --min-time) min_time=${2:?--min-time needs seconds}; shift ;;
    --input) input=${2:?--input needs CxHxW}; shift ;;
    --classes) classes=${2:?--classes needs a number}; shift ;;
    --out) out=${2:?--out needs a file}; shift ;;
    --train) train=1 ;;
    --check) check_only=1 ;;
    -h | --help) usage 0 ;;
    -*) die "unknown option '$1' (see bench/compare.sh --help)" ;;
    *) models+=("$1") ;;
    esac
    shift
done
for n in $threads $batches $rounds $runs; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "'$n': thread counts, batches, --rounds and --runs are positive integers"
done
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup expects a count, got '$warmup'"
[[ $min_time =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--min-time expects seconds, got '$min_time'"
[ -z "$input" ] || [[ $input =~ ^[1-9][0-9]*x[1-9][0-9]*x[1-9][0-9]*$ ]] ||
    die "--input expects CxHxW with positive sizes, got '$input'"
[ -z "$classes" ] || [[ $classes =~ ^[1-9][0-9]*$ ]] || die "--classes expects a positive integer, got '$classes'"
[ "$train" = 0 ] || [ "$check_only" = 0 ] || die "--check is for inference, not with --train"
[ ${#models[@]} -gt 0 ] || models=(resnet50 vgg16 alexnet googlenet inception_v3 resnet18 densenet121
    mobilenet_v2 mobilenet_v3_large shufflenet_v2_x1_0 efficientnet_b0)

py=/usr/bin/python3 # Debian's, with python3-torch; not a pyenv one on PATH
export PYTHONDONTWRITEBYTECODE=1
cache=bench/.cache
mkdir -p "$cache"
out=${out:-$cache/compare-$(date +%Y%m%d-%H%M%S).md}
csv=${out%.md}.csv

if [ -z "${CNNZOO:-}" ]; then
    make build >&2
    CNNZOO=build/cnnzoo
fi
[ -x "$CNNZOO" ] || die "$CNNZOO is not an executable"
if [ "$train" = 0 ] && ! [ -d bench/node_modules/onnxruntime-node ]; then
    echo "compare: installing onnxruntime-node into bench/node_modules" >&2
    # The CPU library ships in the package; its install script would only
    # fetch the optional CUDA one, from outside the npm registry.
    ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix bench --no-package-lock --no-audit \
        --no-fund >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/raw"

# model_size MODEL: "CxHxW K", the model's default input and classes
# unless --input / --classes say otherwise.
model_size() {
    "$CNNZOO" list --json | "$py" -c '
import json, sys
name, chw, k = sys.argv[1:]
m = [m for m in json.load(sys.stdin) if m["name"] == name]
if not m:
    sys.exit(f"compare: unknown model {name} (see cnnzoo list)")
print(chw or "x".join(map(str, m[0]["input"])), k or m[0]["classes"])' "$1" "$input" "$classes"
}

# prepare MODEL STEM CHW K: exports the weights and ONNX files if any is
# missing and checks cnnzoo's output on them; prints the .pth cnnzoo
# should load, or nothing when it cannot (cnnzoo then uses random weights).
prepare() {
    local model=$1 stem=$2 chw=$3 k=$4 missing=0 b
    for b in $batches; do [ -s "$stem.b$b.onnx" ] || missing=1; done
    [ -s "$stem.pth" ] && [ -s "$stem.check.out.npy" ] || missing=1
    if [ "$missing" = 1 ] && ! OMP_NUM_THREADS=2 "$py" bench/export_model.py "$model" --input "$chw" \
        --classes "$k" --batch "$batches" --out "$stem" >&2 2>"$tmp/export.err"; then
        echo "compare: exporting $model failed: $(tail -2 "$tmp/export.err")" >&2
        return
    fi
    if ! "$CNNZOO" forward "$model" --weights "$stem.pth" --input "$stem.check.in.npy" \
        --output "$tmp/check.npy" --classes "$k" >/dev/null 2>"$tmp/check.err"; then
        echo "check $model: cnnzoo cannot run the exported weights: $(cat "$tmp/check.err")" >&2
        echo "check $model: cnnzoo is timed with random weights instead" >&2
        return
    fi
    "$py" -c '
import sys
import numpy as np
model, ours, theirs = sys.argv[1:]
a, b = np.load(ours), np.load(theirs)
diff, scale = float(np.abs(a - b).max()), float(np.abs(b).max())
verdict = "ok" if diff <= 1e-3 * max(scale, 1.0) else "MISMATCH"
print(f"check {model}: max |cnnzoo - torch| = {diff:.3g} (max |torch| = {scale:.3g}) {verdict}",
      file=sys.stderr)' "$model" "$tmp/check.npy" "$stem.check.out.npy"
    echo "$stem.pth"
}

# run_tool TOOL FILE COMMAND...: runs one timed process; its JSON goes to
# FILE, or a note to stderr if it fails.
run_tool() {
    local tool=$1 file=$2
    shift 2
    if ! "$@" >"$file" 2>"$tmp/tool.err"; then
        echo "compare: $tool failed: $(tail -3 "$tmp/tool.err")" >&2
        rm -f "$file"
    fi
}

# one_round MODEL CHW K BATCH THREADS ROUND WEIGHTS STEM: the three tools,
# in an order rotated by ROUND.
one_round() {
    local model=$1 chw=$2 k=$3 b=$4 t=$5 r=$6 weights=$7 stem=$8 tools tool
    local raw="$tmp/raw/$model.b$b.t$t.r$r" loop=(--runs "$runs" --warmup "$warmup" --min-time "$min_time")
    local mode=() wflag=()
    [ "$train" = 1 ] && mode=(--train)
    [ -n "$weights" ] && wflag=(--weights "$weights")
    case $(( r % 3 )) in
    1) tools="cnnzoo ort torch" ;;
    2) tools="ort torch cnnzoo" ;;
    *) tools="torch cnnzoo ort" ;;
    esac
    for tool in $tools; do
        case $tool in
        cnnzoo) OMP_NUM_THREADS=$t run_tool cnnzoo "$raw.cnnzoo.json" "$CNNZOO" bench "$model" \
            --json --layers --batch "$b" --threads "$t" --input "$chw" --classes "$k" \
            "${mode[@]}" "${wflag[@]}" "${loop[@]}" ;;
        ort) if [ "$train" = 0 ] && [ -s "$stem.b$b.onnx" ]; then
            OMP_NUM_THREADS=$t run_tool ort "$raw.ort.json" node bench/ort_bench.js \
                "$stem.b$b.onnx" "$b" "$chw" "$t" "$runs" "$warmup" "$min_time"
        fi ;;
        torch) OMP_NUM_THREADS=$t run_tool torch "$raw.torch.json" "$py" bench/torch_bench.py \
            "$model" --batch "$b" --input "$chw" --classes "$k" --threads "$t" \
            "${mode[@]}" "${wflag[@]}" "${loop[@]}" ;;
        esac
    done
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date -u '+%Y-%m-%d %H:%M UTC')
for model in "${models[@]}"; do
    read -r chw k < <(model_size "$model") || die "no size for $model"
    stem=$cache/${model}_${chw}_k$k
    weights=""
    [ "$train" = 0 ] && weights=$(prepare "$model" "$stem" "$chw" "$k")
    [ "$check_only" = 1 ] && continue
    for b in $batches; do
        for t in $threads; do
            for r in $(seq 1 "$rounds"); do
                echo "compare: $model batch $b threads $t round $r/$rounds" >&2
                one_round "$model" "$chw" "$k" "$b" "$t" "$r" "$weights" "$stem"
            done
        done
    done
done

[ "$check_only" = 1 ] && exit 0
cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
{
    echo "$([ "$train" = 1 ] && echo "training step" || echo inference), fp32, $start, $cpu, $(nproc) cores"
    echo "command: $command_line"
    echo "medians of $rounds rounds (each: $warmup warm-up, then >= $runs runs and >= $min_time s);" \
        "ratio < 1: cnnzoo faster; MiB: peak RSS"
    echo
} | tee "$out"
"$py" - "$tmp/raw" "$out" "$csv" "${models[*]}" <<'PY'
import csv, glob, json, os, statistics, sys
raw, out, csv_path, names = sys.argv[1:]
runs = {}
for path in glob.glob(os.path.join(raw, "*.json")):
    model, b, t, r, tool, _ = os.path.basename(path).rsplit(".", 5)
    with open(path) as f:
        runs.setdefault((model, int(b[1:]), int(t[1:])), {}).setdefault(tool, []).append(json.load(f))
order = {m: i for i, m in enumerate(names.split())}

def median_ms(x):
    """A run's median: cnnzoo bench's JSON nests it, the scripts' do not."""
    return x["ms"]["median"] if "ms" in x else x["median_ms"]

def med(rs):
    return statistics.median(median_ms(x) for x in rs) if rs else None

def fmt(v, spec):
    return "-" if v is None else format(v, spec)

cols = ["model", "batch", "threads", "cnnzoo ms", "ORT ms", "torch ms", "cnnzoo/ORT", "cnnzoo/torch",
        "cnnzoo MiB", "ORT MiB", "torch MiB", "cnnzoo GFLOP/s", "cnnzoo's slowest layer"]
rows = []
for key in sorted(runs, key=lambda k: (order.get(k[0], 99), k[1], k[2])):
    tools = runs[key]
    cz, ort, pt = (med(tools.get(x, [])) for x in ("cnnzoo", "ort", "torch"))
    rss = [max((x["peak_rss_mib"] for x in tools.get(x, [])), default=None)
           for x in ("cnnzoo", "ort", "torch")]
    czr = tools.get("cnnzoo", [])
    gflops = czr[0]["flop_per_step"] / (cz * 1e6) if czr else None
    slow = ""
    if czr and "slowest" in czr[-1]:
        s = czr[-1]["slowest"]
        slow = f'{s["name"]} ({s["kernel"]}, {s["percent"]:.0f}%'
        slow += f', {s["gflops"]:.0f} GFLOP/s)' if s.get("gflops") else ")"
    rows.append([key[0], key[1], key[2], fmt(cz, ".2f"), fmt(ort, ".2f"), fmt(pt, ".2f"),
                 fmt(cz / ort if cz and ort else None, ".2f"), fmt(cz / pt if cz and pt else None, ".2f"),
                 fmt(rss[0], ".0f"), fmt(rss[1], ".0f"), fmt(rss[2], ".0f"), fmt(gflops, ".1f"), slow])

widths = [max(len(str(c)), *(len(str(r[i])) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
line = lambda r: "  ".join(str(v).rjust(w) if i not in (0, 12) else str(v).ljust(w)
                           for i, (v, w) in enumerate(zip(r, widths)))
print(line(cols))
for r in rows:
    print(line(r))
with open(out, "a") as f:
    f.write("| " + " | ".join(cols) + " |\n|" + "|".join("---" for _ in cols) + "|\n")
    for r in rows:
        f.write("| " + " | ".join(str(v) for v in r) + " |\n")
with open(csv_path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(cols)
    w.writerows(rows)
PY

{
    echo
    echo "load average before: $load0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$out"
echo "wrote $out and $csv"
