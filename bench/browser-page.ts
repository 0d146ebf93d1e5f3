// The page side of `convts bench --backend browser` (bundled into dist/web/bench.js): convts on the
// threaded WebAssembly kernels and, for --compare convnetjs, ConvNetJS on the same networks, each
// timed in the page's own thread as bench/timing.ts times them in Node.
import { builtinSpec, startWasmKernels, type WasmKernels, withKernels } from '../src/core.js';
import { convnetjsStep } from './convnetjs-net.js';
import { type Mode, makeStep } from './timing.js';

// Pools by "threads/spins" (spins empty: the kernels' default), each with its own module and workers.
const pools = new Map<string, WasmKernels>();
const steps = new Map<string, () => void>();

const api = {
  /** Starts the kernels on `threads` threads (once per count and spin limit); says what runs. */
  async start(threads: number, spins?: number) {
    const key = `${threads}/${spins ?? ''}`;
    let s = pools.get(key);
    if (!s) {
      s = await startWasmKernels({ from: new URL('wasm/', location.href), threads, spins });
      pools.set(key, s);
    }
    return { threads: s.threads, simd: s.simd, kernels: s.kernels.name, notice: s.notice };
  },
  /** Builds contender `id`: convts on the pool `pool` (threads/spins, as started), or ConvNetJS. */
  setup(id: string, who: 'convts' | 'convnetjs', pool: string, net: string, mode: Mode, batch: number) {
    if (who === 'convnetjs') {
      steps.set(id, convnetjsStep(net, mode, batch));
      return;
    }
    const k = pools.get(pool)?.kernels;
    if (!k) throw new Error(`no kernels started as ${pool} (threads/spins)`);
    const step = withKernels(k, () => makeStep(builtinSpec(net), mode, batch));
    steps.set(id, () => withKernels(k, step));
  },
  /** Steps contender `id` for at least `seconds`; CPU time is not known in a page. */
  run(id: string, seconds: number) {
    const step = steps.get(id);
    if (!step) throw new Error(`no contender ${id}`);
    const t0 = performance.now();
    let [n, dt] = [0, 0];
    do {
      step();
      n++;
      dt = (performance.now() - t0) / 1000;
    } while (dt < seconds);
    return { steps: n, seconds: dt };
  },
  drop(id: string) {
    steps.delete(id);
  },
};

(globalThis as unknown as { convtsBench: typeof api }).convtsBench = api;
