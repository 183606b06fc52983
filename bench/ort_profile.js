// ort_profile.js MODEL.onnx BATCH CxHxW THREADS RUNS [TOP]
// ONNX Runtime's per-node times, to set beside `cnnzoo bench MODEL
// --layers` (docs/nchwc-plan.md, stage 0): the session of ort_bench.js
// (every graph optimisation, so the nodes are ORT's fused and reordered
// ones, e.g. NCHWc convs and ReorderInput/Output) with profiling on, RUNS
// runs after two warm-ups. Prints the time per run of each op type (total
// and share) and the TOP slowest nodes (default 15), from the trace's
// "Node" events, in milliseconds per run.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');
const {openSession} = require('./ort_session');

function usage() {
  process.stderr.write('usage: node ort_profile.js MODEL.onnx BATCH CxHxW THREADS RUNS [TOP]\n');
  process.exit(2);
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 5 || args.length > 6)
    usage();
  const [path, batchText, chwText, threadsText, runsText, topText] = args;
  const batch = Number(batchText), threads = Number(threadsText), runs = Number(runsText);
  const top = Number(topText || 15);
  const chw = chwText.split('x').map(Number);
  if (chw.length !== 3 || [batch, threads, runs, top, ...chw].some((v) => !(v >= 1)))
    usage();

  const session = await openSession(path, threads, {
    enableProfiling: true,
    profileFilePrefix: `/tmp/ort_profile_${process.pid}`,
  });
  const dims = [batch, ...chw];
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count).map((_, i) => Math.sin(i * 0.7));
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, dims)};
  for (let i = 0; i < 2 + runs; i++)
    await session.run(feeds);
  // endProfiling writes PREFIX_<date>.json and, in onnxruntime-node,
  // does not say its name.
  await session.endProfiling();
  const prefix = `ort_profile_${process.pid}`;
  const found = fs.readdirSync('/tmp').filter((f) => f.startsWith(prefix) && f.endsWith('.json'));
  if (found.length !== 1)
    throw new Error(`expected one /tmp/${prefix}*.json profile, found ${found.length}`);
  const file = `/tmp/${found[0]}`;
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.unlinkSync(file);

  // Node events of every run; the two warm-ups are left out by keeping
  // each node's last `runs` events.
  const perNode = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time'))
      continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!perNode.has(name))
      perNode.set(name, {op: e.args.op_name, times: []});
    perNode.get(name).times.push(e.dur / 1000);
  }
  const nodes = [...perNode].map(([name, n]) => {
    const last = n.times.slice(-runs);
    return {name, op: n.op, ms: last.reduce((a, b) => a + b, 0) / last.length};
  });
  const total = nodes.reduce((a, n) => a + n.ms, 0);
  const byOp = new Map();
  for (const n of nodes)
    byOp.set(n.op, (byOp.get(n.op) || 0) + n.ms);

  const pad = (s, w) => String(s).padEnd(w);
  const num = (x, w) => x.toFixed(3).padStart(w);
  console.log(`${path}: batch ${batch}, ${threads} threads, ${runs} runs; ` +
              `${nodes.length} nodes, ${total.toFixed(3)} ms per run in nodes`);
  console.log(`${pad('op type', 28)}${'ms'.padStart(10)}${'%'.padStart(8)}${'nodes'.padStart(7)}`);
  for (const [op, ms] of [...byOp].sort((a, b) => b[1] - a[1]))
    console.log(`${pad(op, 28)}${num(ms, 10)}${(100 * ms / total).toFixed(1).padStart(8)}` +
                `${String(nodes.filter((n) => n.op === op).length).padStart(7)}`);
  console.log(`\n${pad('slowest nodes', 60)}${pad('op', 22)}${'ms'.padStart(10)}`);
  for (const n of nodes.sort((a, b) => b.ms - a.ms).slice(0, top))
    /* Whole names, so that bench/ort_layers.py can match them to ours. */
    console.log(`${pad(n.name, 60)} ${pad(n.op, 22)}${num(n.ms, 10)}`);
}

main().catch((err) => {
  process.stderr.write(`ort_profile: ${err.message}\n`);
  process.exit(1);
});
