// ort_session.js - the ONNX Runtime session bench/compare.sh times
// (ort_bench.js) and profiles (ort_profile.js): THREADS intra-op threads,
// one inter-op thread, every graph optimisation, sequential execution.
'use strict';

const ort = require('onnxruntime-node');

function openSession(path, threads, extra = {}) {
  return ort.InferenceSession.create(path, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...extra,
  });
}

module.exports = {openSession};
