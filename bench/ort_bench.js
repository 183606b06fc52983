// ort_bench.js MODEL.onnx BATCH CxHxW THREADS RUNS WARMUP MIN_TIME
// ONNX Runtime's side of bench/compare.sh (onnxruntime-node, CPU, from
// bench/node_modules). One InferenceSession with intraOpNumThreads=THREADS,
// interOpNumThreads=1, every graph optimisation and sequential execution;
// a seeded random batch; WARMUP untimed runs, then timed runs until both
// RUNS runs and MIN_TIME seconds are done, as `cnnzoo bench` does. Prints
// one JSON line:
//   {"tool": "ort", "median_ms": M, "runs": N, "peak_rss_mib": R, ...}
// peak_rss_mib is process.resourceUsage().maxRSS (node itself included, as
// a user of onnxruntime-node pays it).
'use strict';

const ort = require('onnxruntime-node');
const {openSession} = require('./ort_session');

function usage() {
  process.stderr.write('usage: node ort_bench.js MODEL.onnx BATCH CxHxW THREADS RUNS WARMUP MIN_TIME\n');
  process.exit(2);
}

// Standard normal values from a small seeded generator (xorshift32 and
// Box-Muller): the same batch every run, like normalised images.
function randomBatch(count, seed) {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return (s + 1) / 4294967297;
  };
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++)
    data[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return data;
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 7)
    usage();
  const [path, batchText, chwText, threadsText, runsText, warmupText, minTimeText] = args;
  const batch = Number(batchText), threads = Number(threadsText);
  const runs = Number(runsText), warmup = Number(warmupText), minTime = Number(minTimeText);
  const chw = chwText.split('x').map(Number);
  if (chw.length !== 3 || [batch, threads, runs, ...chw].some((v) => !(v >= 1)) ||
      !(warmup >= 0) || !(minTime >= 0))
    usage();

  const session = await openSession(path, threads);
  const dims = [batch, ...chw];
  const input = new ort.Tensor('float32', randomBatch(dims.reduce((a, b) => a * b), 1), dims);
  const feeds = { [session.inputNames[0]]: input };

  for (let i = 0; i < warmup; i++)
    await session.run(feeds);
  const times = [];
  let elapsed = 0;
  while (times.length < runs || elapsed < minTime) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    times.push(seconds);
    elapsed += seconds;
  }
  console.log(JSON.stringify({
    tool: 'ort', batch, threads,
    median_ms: 1e3 * median(times), min_ms: 1e3 * times.reduce((a, b) => Math.min(a, b)), runs: times.length,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024, // KiB
    onnxruntime: ort.env.versions.node,
  }));
}

main().catch((err) => {
  process.stderr.write(`ort_bench: ${err.message || err}\n`);
  process.exit(1);
});
