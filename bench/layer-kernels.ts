// Process CPU time of the kernels around the convolutions (batch norm, max pooling, ReLU, GELU) at the
// shapes of the recipes' training steps (not a test):
//   node dist/bench/layer-kernels.js [mnist | cifar | fused-mnist | fused-cifar] [threads] [seconds] [other checkout]
// (fused-*: batch norm and its activation as two kernels and as one, in turns.)
// Each kernel is called in turns with the others for about `seconds`, keeping its fastest call. With
// another checkout (built the same way, e.g. main in a second worktree), its addon runs the same calls
// in the same turns, for before/after figures on a shared machine.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Kernels, PoolGeom } from '../src/index.js';
import { type NativeAddon, nativeKernels } from '../src/kernels/native/index.js';
import { loadNativeAddon } from '../src/kernels/node-loader.js';
import { loadLine } from './peak.js';

const [net = 'mnist', threadArg = '1', secondsArg = '3', other] = process.argv.slice(2);
const threads = Number(threadArg);
const seconds = Number(secondsArg);

const own = loadNativeAddon();
if (!own) throw new Error('the native kernels are not built — npm run build:kernels');
const sets: [string, Kernels][] = [['this', nativeKernels(own, threads)]];
if (other) {
  const addon = createRequire(import.meta.url)(join(other, 'build/Release', `convts_${own.variant}.node`));
  sets.unshift(['other', nativeKernels(addon as NativeAddon, threads)]);
}

/** Deterministic values in ±scale/2. */
function values(n: number, scale = 1, seed = 12345): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * scale;
  }
  return a;
}

type Case = [string, (k: Kernels) => void];
const cases: Case[] = [];

function pool(n: number, c: number, h: number): void {
  const oh = Math.floor(h / 2);
  const g: PoolGeom = { n, c, h, w: h, kh: 2, kw: 2, sh: 2, sw: 2, oh, ow: oh };
  const x = values(n * c * h * h);
  const y = new Float32Array(n * c * oh * oh);
  const argmax = new Int32Array(y.length);
  const dy = values(y.length);
  const dx = new Float32Array(x.length);
  sets[0][1].maxPool2dForward(y, argmax, x, g);
  cases.push([`max pool forward ${n}×${c}×${h}²`, (k) => k.maxPool2dForward(y, argmax, x, g)]);
  cases.push([`max pool backward ${n}×${c}×${h}²`, (k) => k.maxPool2dBackward(dx, dy, argmax, g)]);
}

function batchNorm(n: number, c: number, side: number): void {
  const hw = side * side;
  const x = values(n * c * hw, 3);
  const y = new Float32Array(x.length);
  const dy = values(x.length);
  const dx = new Float32Array(x.length);
  const [mean, variance, dgamma, dbeta] = [0, 1, 2, 3].map(() => new Float32Array(c));
  const invstd = new Float32Array(c).fill(1.3);
  const gamma = new Float32Array(c).fill(1);
  const beta = new Float32Array(c);
  const shape = `${n}×${c}×${side}²`;
  cases.push([`batch norm statistics ${shape}`, (k) => k.batchNormStats(mean, variance, x, n, c, hw)]);
  cases.push([`batch norm forward ${shape}`, (k) => k.batchNormForward(y, x, mean, invstd, gamma, beta, n, c, hw)]);
  cases.push([
    `batch norm backward ${shape}`,
    (k) => k.batchNormBackward(dx, dgamma, dbeta, dy, x, mean, invstd, gamma, n, c, hw, true),
  ]);
}

function activation(kind: 'relu' | 'gelu', n: number, c: number, side: number): void {
  const len = n * c * side * side;
  const x = values(len, 4);
  const y = new Float32Array(len);
  const dy = values(len);
  const dx = new Float32Array(len);
  const shape = `${n}×${c}×${side}²`;
  if (kind === 'gelu') {
    cases.push([`GELU forward ${shape}`, (k) => k.geluForward(y, x, len)]);
    cases.push([`GELU backward ${shape}`, (k) => k.geluBackward(dx, dy, x, len)]);
  } else {
    cases.push([`ReLU forward ${shape}`, (k) => k.activationForward('relu', y, x, len)]);
    cases.push([`ReLU backward ${shape}`, (k) => k.activationBackward('relu', dx, dy, x, len)]);
  }
}

/** Batch norm and its activation as two kernels and as one (the models' way), forward and backward. */
function fusedPair(kind: 'relu' | 'gelu', n: number, c: number, side: number): void {
  const hw = side * side;
  const x = values(n * c * hw, 3);
  const [z, y, dz, dx] = [0, 1, 2, 3].map(() => new Float32Array(x.length));
  const dy = values(x.length);
  const [mean, dgamma, dbeta] = [0, 1, 2].map(() => new Float32Array(c));
  const invstd = new Float32Array(c).fill(1.3);
  const gamma = new Float32Array(c).fill(1);
  const beta = new Float32Array(c);
  const act = { f: kind, slope: 0 };
  const shape = `${n}×${c}×${side}²`;
  const name = `batch norm + ${kind === 'relu' ? 'ReLU' : 'GELU'}`;
  const apart = (k: Kernels, y: Float32Array, x: Float32Array) =>
    kind === 'relu' ? k.activationForward('relu', y, x, x.length) : k.geluForward(y, x, x.length);
  const apartBack = (k: Kernels) =>
    kind === 'relu' ? k.activationBackward('relu', dz, dy, y, dy.length) : k.geluBackward(dz, dy, z, dy.length);
  cases.push([
    `${name} forward, 2 kernels ${shape}`,
    (k) => {
      k.batchNormForward(z, x, mean, invstd, gamma, beta, n, c, hw);
      apart(k, y, z);
    },
  ]);
  cases.push([
    `${name} forward, 1 kernel ${shape}`,
    (k) => k.batchNormForward(y, x, mean, invstd, gamma, beta, n, c, hw, act),
  ]);
  cases.push([
    `${name} backward, 2 kernels ${shape}`,
    (k) => {
      apartBack(k);
      k.batchNormBackward(dx, dgamma, dbeta, dz, x, mean, invstd, gamma, n, c, hw, true);
    },
  ]);
  cases.push([
    `${name} backward, 1 kernel ${shape}`,
    (k) => k.batchNormBackward(dx, dgamma, dbeta, dy, x, mean, invstd, gamma, n, c, hw, true, { act, beta }),
  ]);
}

// Batch 128 for convts-mnist; convts-cifar's 1024 at a quarter, to keep the arrays in memory twice over.
if (net === 'fused-mnist') {
  fusedPair('relu', 128, 32, 28);
  fusedPair('relu', 128, 64, 14);
  fusedPair('relu', 128, 128, 7);
} else if (net === 'fused-cifar') {
  fusedPair('gelu', 256, 64, 15);
  fusedPair('gelu', 256, 256, 7);
} else if (net === 'mnist') {
  for (const [c, side] of [
    [32, 28],
    [64, 14],
    [128, 7],
  ]) {
    pool(128, c, side);
    batchNorm(128, c, side);
  }
  activation('relu', 128, 32, 28);
  activation('relu', 128, 64, 14);
} else {
  pool(256, 64, 31);
  pool(256, 256, 15);
  pool(256, 256, 7);
  batchNorm(256, 64, 15);
  batchNorm(256, 256, 7);
  activation('gelu', 256, 24, 31);
  activation('gelu', 256, 64, 15);
}

const best = cases.map(() => sets.map(() => Number.POSITIVE_INFINITY));
for (const [, f] of cases) for (const [, k] of sets) f(k);
const t0 = performance.now();
let round = 0;
do {
  for (const [i, [, f]] of cases.entries()) {
    // The second call of a turn finds the arrays in cache: which set goes first alternates.
    const order = round % 2 ? [...sets.keys()].reverse() : [...sets.keys()];
    for (const j of order) {
      const c = process.cpuUsage();
      f(sets[j][1]);
      const u = process.cpuUsage(c);
      best[i][j] = Math.min(best[i][j], (u.user + u.system) / 1000);
    }
  }
  round++;
} while (performance.now() - t0 < seconds * 1000);

console.log(`native-${own.simd}, ${threads} thread${threads > 1 ? 's' : ''}, ${net} shapes; ${loadLine()}`);
console.log(`CPU ms of the fastest call${other ? ` (${other} → this checkout)` : ''}`);
for (const [i, [name]] of cases.entries()) {
  const ms = best[i].map((v) => v.toFixed(2).padStart(7)).join(' →');
  const ratio = other ? `  ${(best[i][0] / best[i][1]).toFixed(2)}×` : '';
  console.log(`${name.padEnd(36)} ${ms}${ratio}`);
}
