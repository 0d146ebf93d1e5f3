// A max pooling and the batch norm (with GELU) after it, convts-cifar's blocks at a training batch: the
// kernels one by one against the fused ones, in turns (not a test).
//   node dist/bench/pool-bn.js [batch] [threads] [rounds] [native | wasm]
// Forward: maxPool2dForward + batchNormStats against maxPoolBatchNormStats (batchNormForward with GELU
// follows either way, so it is not timed). Backward: batchNormBackward with GELU + maxPool2dBackward
// against maxPoolBatchNormBackward. Median and fastest of the rounds, wall and process CPU milliseconds.
import { type Kernels, type PoolGeom, Rng } from '../src/index.js';
import { nativeKernels } from '../src/kernels/native/index.js';
import { loadNativeAddon, loadWasmThreadedModule, startNodeWasmThreads } from '../src/kernels/node-loader.js';
import { wasmSharedKernels } from '../src/kernels/wasm/pool.js';
import { loadLine } from './peak.js';

const batch = Number(process.argv[2] ?? 512);
const threads = Number(process.argv[3] ?? 2);
const rounds = Number(process.argv[4] ?? 15);
const set = process.argv[5] ?? 'native';

async function kernelSet(): Promise<Kernels> {
  if (set === 'wasm') {
    const m = loadWasmThreadedModule();
    if (!m) throw new Error('the threaded WebAssembly module is not built — npm run build:kernels');
    const pool = threads > 1 ? await startNodeWasmThreads(threads) : null;
    return pool ? pool.kernels : wasmSharedKernels(m);
  }
  const a = loadNativeAddon();
  if (!a) throw new Error('the native kernels are not built — npm install builds them');
  return nativeKernels(a, threads);
}

/** Wall and CPU milliseconds of each function, `rounds` times in turns: median and fastest. */
function turns(fs: (() => void)[]): { wall: number[]; cpu: number[] }[] {
  const t = fs.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (const f of fs) f();
  for (let r = 0; r < rounds; r++)
    for (const [i, f] of fs.entries()) {
      const c = process.cpuUsage();
      const w = performance.now();
      f();
      t[i].wall.push(performance.now() - w);
      const u = process.cpuUsage(c);
      t[i].cpu.push((u.user + u.system) / 1000);
    }
  return t;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const cell = (a: number[]) => `${median(a).toFixed(2).padStart(7)} (${Math.min(...a).toFixed(2)})`;

async function main(): Promise<void> {
  const k = await kernelSet();
  const r = new Rng(3);
  const act = { f: 'gelu', slope: 0 } as const;
  console.log(`${k.name}, ${threads} threads, batch ${batch}, ${rounds} rounds in turns; ${loadLine()}`);
  console.log('ms a call, median (fastest)            wall one by one   wall fused        cpu one by one    cpu fused');
  for (const [c, h] of [
    [64, 31],
    [256, 15],
    [256, 7],
  ]) {
    const o = h >> 1;
    const g: PoolGeom = { n: batch, c, h, w: h, kh: 2, kw: 2, sh: 2, sw: 2, oh: o, ow: o };
    const [xs, ys] = [batch * c * h * h, batch * c * o * o];
    const fill = (len: number) => Float32Array.from({ length: len }, () => r.normal());
    const [x, dy, y, dz, dx] = [fill(xs), fill(ys), new Float32Array(ys), new Float32Array(ys), new Float32Array(xs)];
    const am = new Int32Array(ys);
    const [mean, variance, gamma, beta, dg, db] = Array.from({ length: 6 }, () => new Float32Array(c).fill(1));
    k.maxPool2dForward(y, am, x, g);
    k.batchNormStats(mean, variance, y, batch, c, o * o);
    const invstd = variance.map((v) => 1 / Math.sqrt(v + 1e-5));
    const forward = turns([
      () => {
        k.maxPool2dForward(y, am, x, g);
        k.batchNormStats(mean, variance, y, batch, c, o * o);
      },
      () => k.maxPoolBatchNormStats(y, am, mean, variance, x, g),
    ]);
    const backward = turns([
      () => {
        k.batchNormBackward(dz, dg, db, dy, y, mean, invstd, gamma, batch, c, o * o, true, { act, beta });
        k.maxPool2dBackward(dx, dz, am, g);
      },
      () => k.maxPoolBatchNormBackward(dx, dg, db, dz, dy, y, am, mean, invstd, gamma, beta, act, true, g),
    ]);
    for (const [what, [a, b]] of [
      ['forward', forward],
      ['backward', backward],
    ] as const)
      console.log(
        `${`${c}×${h}×${h} → ${o}×${o} ${what}`.padEnd(38)} ${cell(a.wall)}  ${cell(b.wall)}  ${cell(a.cpu)}  ${cell(b.cpu)}`,
      );
  }
  process.exit(0);
}

await main();
