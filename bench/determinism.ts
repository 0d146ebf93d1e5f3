// Same seed, same backend, same thread count → the same weights, every time. Trains each model N
// times for a few steps of real MNIST on the native kernels and counts the distinct weight hashes.
// In one process by default (the data read once; the thread pool lives on, as in a long run); with
// --processes each run is a fresh `convts train`. Busy processes beside it (--busy K) make the pool's
// workers be preempted at random moments, which is when a scheduling-dependent result shows.
// First, tools/pool-stress.cc is built against native/threads.cc and run for --pool-seconds: millions
// of back-to-back jobs, each item of which must run exactly once.
// Flags: --runs N [100], --threads T [2], --steps S [8], --busy K [0], --processes, --data-dir DIR,
// --models a,b [seed-mnist,convts-mnist], --pool-seconds S [10; 0 skips]. Exit 1 on any difference.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { specModelPath } from '../src/cli/spec-models.js';
import {
  buildModel,
  builtinSpec,
  loadDataset,
  loadNativeAddon,
  type ModelSpec,
  makeOptimizer,
  train,
  useKernels,
  validateSpec,
} from '../src/index.js';
import { nativeKernels } from '../src/kernels/native/index.js';

const mainJs = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '8' },
    busy: { type: 'string', default: '0' },
    processes: { type: 'boolean', default: false },
    'data-dir': { type: 'string', default: join(repo, '../shared/datasets') },
    models: { type: 'string', default: 'seed-mnist,convts-mnist' },
    'pool-seconds': { type: 'string', default: '10' },
  },
});
const runs = Number(values.runs);
const threads = Number(values.threads);
const steps = Number(values.steps);
const dataDir = values['data-dir']!;
const batch = 32;
const seed = 5;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** One run as a child `convts train`: the hash of its model.safetensors. */
function runProcess(model: string, out: string): string {
  const flags = ['--model', model, '--dataset', 'mnist', '--data-dir', dataDir, '--epochs', '1', '--seed', `${seed}`];
  const limits = ['--train-limit', `${steps * batch}`, '--test-limit', '64', '--batch-size', `${batch}`];
  const r = spawnSync(process.execPath, [mainJs, 'train', ...flags, ...limits, '--out', out], {
    env: { ...process.env, CONVTS_BACKEND: 'native', CONVTS_THREADS: `${threads}`, CONVTS_OFFLINE: '1' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`convts train --model ${model} failed (exit ${r.status}): ${r.stderr}`);
  const h = sha(readFileSync(join(out, 'model.safetensors')));
  rmSync(out, { recursive: true, force: true });
  return h;
}

const data = values.processes ? null : loadDataset('mnist', dataDir, { trainLimit: steps * batch, testLimit: 64 });

/** One run in this process: the hash of every parameter's bits. */
async function runInProcess(model: string): Promise<string> {
  const spec: ModelSpec = model.startsWith('seed-')
    ? builtinSpec(model)
    : validateSpec(JSON.parse(readFileSync(specModelPath(model), 'utf8')));
  const m = buildModel(spec, { seed });
  const optimizer = makeOptimizer({ kind: 'momentum', lr: 0.01, momentum: 0.9 });
  await train(m, data!.train, null, { epochs: 1, batchSize: batch, seed, optimizer });
  const h = createHash('sha256');
  for (const p of m.params())
    h.update(new Uint8Array(p.value.data.buffer, p.value.data.byteOffset, p.value.data.byteLength));
  return h.digest('hex');
}

/** Builds and runs the pool stress test; false when an item ran twice or not at all. */
function poolStress(root: string, seconds: number): boolean {
  const exe = join(root, 'pool-stress');
  const cxx = process.env.CXX || 'c++';
  const src = [join(repo, 'tools/pool-stress.cc'), join(repo, 'native/threads.cc')];
  const built = spawnSync(cxx, ['-O2', '-std=c++17', '-pthread', `-I${join(repo, 'native')}`, ...src, '-o', exe], {
    encoding: 'utf8',
  });
  if (built.status !== 0) {
    process.stdout.write(`pool: not built (${cxx}: ${built.error?.message ?? built.stderr.trim()}) — skipped\n`);
    return true;
  }
  const r = spawnSync(exe, [`${seconds}`], { encoding: 'utf8' });
  const [jobs, bad] = r.stdout.trim().split(' ').map(Number);
  process.stdout.write(
    `pool: ${jobs} jobs of 2–62 items on 2 threads in ${seconds} s, ${bad} with an item run twice or missed\n`,
  );
  return r.status === 0;
}

async function main(): Promise<boolean> {
  const addon = loadNativeAddon();
  if (!addon) throw new Error('the native kernels are not built (npm install builds them)');
  useKernels(nativeKernels(addon, threads));
  const root = mkdtempSync(join(tmpdir(), 'convts-determinism-'));
  const poolSeconds = Number(values['pool-seconds']);
  let same = poolSeconds > 0 ? poolStress(root, poolSeconds) : true;
  for (const model of values.models!.split(',')) {
    const hashes = new Map<string, number>();
    const started = Date.now();
    for (let i = 0; i < runs; i++) {
      const h = values.processes ? runProcess(model, join(root, `${i}`)) : await runInProcess(model);
      hashes.set(h, (hashes.get(h) ?? 0) + 1);
    }
    same &&= hashes.size === 1;
    const counts = [...hashes.values()].sort((a, b) => b - a);
    process.stdout.write(
      `${model}: ${runs} runs × ${steps} steps of ${batch}, native, ${threads} threads, ` +
        `${values.processes ? 'one process each' : 'one process'}, ${values.busy} busy processes: ` +
        `${hashes.size} distinct weight hash(es) ${JSON.stringify(counts)} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
    );
  }
  rmSync(root, { recursive: true, force: true });
  return same;
}

const busy = Array.from({ length: Number(values.busy) }, () =>
  spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }),
);
try {
  process.exitCode = (await main()) ? 0 : 1;
} finally {
  for (const b of busy) b.kill('SIGKILL');
}
