// `convts bench --backend browser --compare convnetjs`: convts on the threaded WebAssembly kernels and
// ConvNetJS timed in headless Chromium, printed as the same JSON lines as the Node kernel sets. Tiny
// slices: this checks behaviour, not speed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Measurement } from '../bench/speed.js';
import { chromiumPath } from './helpers/browser.js';
import { childEnv, mainJs } from './helpers/cli.js';

const page = fileURLToPath(new URL('../web/bench.js', import.meta.url));
const missing = [chromiumPath, page].find((f) => !existsSync(f));
const bench = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [mainJs, 'bench', ...args], { env: { ...childEnv(), ...env }, encoding: 'utf8' });
const quick = ['--net', 'seed-mnist', '--mode', 'train', '--batch', '2', '--warmup', '0', '--slice', '0.01'];

test('--backend browser times convts on 1 and 2 threads in Chromium, and --compare convnetjs ConvNetJS beside it', {
  skip: missing ? `${missing} not found — browser bench skipped` : false,
  timeout: 120_000,
}, () => {
  const r = bench([
    ...quick,
    '--slices',
    '1',
    '--backend',
    'browser',
    '--threads',
    '1,2',
    '--compare',
    'convnetjs',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const rows: Measurement[] = JSON.parse(`[${r.stdout.trim().split('\n').join(',')}]`);
  assert.deepEqual(
    rows.map((x) => `${x.backend} ${x.threads} ${x.kernels ?? ''}`),
    ['browser 1 wasm-simd128 relaxed', 'browser 2 wasm-simd128-threads relaxed', 'convnetjs 1 '],
  );
  const cj = rows[2].imagesPerSecond;
  for (const x of rows) {
    assert.equal(x.net, 'seed-mnist');
    assert.ok(x.imagesPerSecond > 0 && x.minImagesPerSecond <= x.maxImagesPerSecond);
    if (x.backend === 'browser') assert.equal(x.vsConvnetjs, Math.round((x.imagesPerSecond / cj) * 10) / 10);
  }
});

test('--backend browser without Chromium says where it looked', () => {
  const r = bench([...quick, '--backend', 'browser'], { CONVTS_CHROMIUM: '/no/such/chromium' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^convts: --backend browser: no Chromium at \/no\/such\/chromium — apt-get install chromium/);
});
