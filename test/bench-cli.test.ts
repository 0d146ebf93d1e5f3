// `convts bench`: flag errors are usage errors (exit 2); --compare torch says what is missing; the
// PyTorch protocol works end to end where torch is installed. Tiny slices: this checks behaviour, not speed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { flopsPerImage } from '../bench/nets.js';
import { findTorch } from '../bench/torch.js';
import { buildModel } from '../src/model/build.js';
import { childEnv, mainJs } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const quick = [
  '--net',
  'seed-mnist',
  '--mode',
  'train',
  '--batch',
  '2',
  '--warmup',
  '0',
  '--slice',
  '0.01',
  '--slices',
  '3',
];
/** The measurements of --json, one object a line. */
const jsonLines = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const bench = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [mainJs, 'bench', ...args], { env: { ...childEnv(), ...env }, encoding: 'utf8' });

test('a bad bench flag or value exits 2 with one line naming it', () => {
  const cases: [string[], RegExp][] = [
    [['--batch', '0'], /^convts: --batch: expected an integer ≥ 1, got "0"\n$/],
    [['--net', 'resnet'], /^convts: --net: "resnet" is not one of seed-mnist, seed-cifar/],
    [['--mode', 'fly'], /^convts: --mode: "fly" is not one of train, infer/],
    [['--compare', 'tensorflow'], /^convts: --compare: "tensorflow" is not one of torch/],
    [['--backend', 'cuda'], /^convts: --backend: cuda not available here/],
    [['--slice', '0'], /^convts: --slice: expected a number > 0, got "0"/],
    [['--slices', '2.5'], /^convts: --slices: expected an integer ≥ 1/],
    [['--spin', '5'], /^convts: --spin sets how long the page's pool workers spin: it needs --backend browser\n$/],
    [
      ['--backend', 'browser', '--spin', '1.5'],
      /^convts: --spin: expected an integer ≥ 0 and ≤ 2147483647, got "1.5"\n$/,
    ],
    [['--wramup', '1'], /^convts: Unknown option '--wramup' — did you mean --warmup\? \(see convts bench --help\)\n$/],
  ];
  for (const [args, want] of cases) {
    const r = bench(args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}, ${r.stderr}`);
    assert.match(r.stderr, want);
  }
});

test('--compare torch without Python or without torch fails with a message saying how to get it', () => {
  const dir = tempDir('convts-bench-');
  const noTorch = join(dir, 'python-without-torch');
  writeFileSync(noTorch, `#!/bin/sh\necho "ModuleNotFoundError: No module named 'torch'" >&2\nexit 1\n`);
  chmodSync(noTorch, 0o755);
  const missing = bench([...quick, '--compare', 'torch'], { CONVTS_PYTHON: join(dir, 'no-such-python') });
  assert.equal(missing.status, 1);
  assert.match(
    missing.stderr,
    /^convts: --compare torch needs Python 3 with PyTorch \(.*no-such-python: not found\) — install it \(Debian: apt-get install python3-torch; else pip install torch\), or set CONVTS_PYTHON/,
  );
  const without = bench([...quick, '--compare', 'torch'], { CONVTS_PYTHON: noTorch });
  assert.equal(without.status, 1);
  assert.match(without.stderr, /python-without-torch: ModuleNotFoundError: No module named 'torch'\)/);
  assert.equal(without.stdout, '', 'nothing measured before the check');
});

let torch: string | null = null;
try {
  torch = findTorch().version;
} catch {}

test('--compare torch races PyTorch on 2 threads and 1, NCHW and channels-last, against our kernels, slice by slice', {
  skip: torch ? false : 'no Python with torch here',
  timeout: 240_000,
}, () => {
  const r = bench([...quick, '--backend', 'reference', '--compare', 'torch', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const rows = jsonLines(r.stdout);
  assert.deepEqual(
    rows.map((m) => `${m.backend}${m.layout ? ` ${m.layout}` : ''} ×${m.threads}`),
    [
      'reference ×1',
      `pytorch-${torch} nchw ×2`,
      `pytorch-${torch} channels-last ×2`,
      `pytorch-${torch} nchw ×1`,
      `pytorch-${torch} channels-last ×1`,
    ],
  );
  for (const m of rows) {
    assert.ok(
      m.minImagesPerSecond > 0 &&
        m.minImagesPerSecond <= m.imagesPerSecond &&
        m.imagesPerSecond <= m.maxImagesPerSecond,
    );
    assert.ok(m.imagesPerCpuSecond > 0 && m.epochSeconds > 0);
  }
  // Against the fastest PyTorch, named.
  const best = rows.slice(1).sort((a, b) => b.imagesPerSecond - a.imagesPerSecond)[0];
  assert.equal(rows[0].vsTorch, Math.round((rows[0].imagesPerSecond / best.imagesPerSecond) * 1000) / 1000);
  assert.equal(rows[0].vsTorchBest, `${best.layout} ×${best.threads}`);
});

test('bench counts the flops of an image: forward, and for training the gradients each layer computes', () => {
  const model = buildModel({
    format: 'convts-model',
    version: 1,
    input: [1, 4, 4],
    layers: [
      { type: 'conv2d', filters: 2, kernel: 3, padding: 'same' },
      { type: 'flatten' },
      { type: 'dense', units: 3 },
    ],
    loss: 'cross-entropy',
  });
  // conv: 2 filters × 9 taps × 16 pixels multiply-adds; dense 3 × 32. The first layer passes no gradient down.
  const conv = 2 * 2 * 9 * 16;
  const dense = 2 * 3 * 32;
  assert.deepEqual(flopsPerImage(model), { forward: conv + dense, train: 2 * conv + 3 * dense });
});

test('bench --net takes a spec model or a spec file and reports GFLOP/s beside the gemm peak', () => {
  const dir = tempDir('convts-bench-');
  const spec = join(dir, 'tiny.json');
  writeFileSync(
    spec,
    JSON.stringify({
      format: 'convts-model',
      version: 1,
      name: 'tiny',
      input: [3, 8, 8],
      layers: [
        { type: 'conv2d', filters: 4, kernel: 3 },
        { type: 'relu' },
        { type: 'flatten' },
        { type: 'dense', units: 10 },
      ],
      loss: 'cross-entropy',
    }),
  );
  const args = ['--mode', 'train', '--batch', '2', '--warmup', '0', '--slice', '0.01', '--slices', '1', '--json'];
  const r = bench(['--net', `convts-mnist,${spec}`, ...args]);
  assert.equal(r.status, 0, r.stderr);
  const rows = jsonLines(r.stdout);
  assert.deepEqual([...new Set(rows.map((m) => m.net))], ['convts-mnist', 'tiny']);
  for (const m of rows) {
    assert.ok(m.gflops > 0, JSON.stringify(m));
    if (m.backend !== 'native') continue;
    assert.ok(m.ofPeak > 0, JSON.stringify(m));
    // At batch 2 no layer is big enough for Winograd: the arithmetic performed is the direct count.
    assert.equal(m.performedGflops, m.gflops, JSON.stringify(m));
  }
  writeFileSync(spec, '{"format": "convts-model", "version": 1, "input": [3, 8, 8], "layers": [{"type": "conv9d"}]}');
  const broken = bench(['--net', spec, ...args]);
  assert.equal(broken.status, 1, broken.stderr);
  assert.match(broken.stderr, /tiny\.json/);
  const missing = bench(['--net', join(dir, 'none.json'), ...args]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^convts: --net: .*none\.json not found/);
});

test('bench --fusion on,off races each kernel set with batch norm and its activation fused and apart', () => {
  const args = ['--net', 'convts-mnist', '--mode', 'train', '--batch', '2', '--backend', 'reference', '--warmup', '0'];
  const r = bench([...args, '--slice', '0.01', '--slices', '2', '--fusion', 'on,off', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const rows = jsonLines(r.stdout);
  assert.deepEqual(
    rows.map((m) => m.fusion),
    [undefined, false],
  );
  const bad = bench([...args, '--fusion', 'maybe']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--fusion/);
});
