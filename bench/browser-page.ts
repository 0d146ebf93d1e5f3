// The page side of `convts bench --backend browser` (bundled into dist/web/bench.js): convts on the
// threaded WebAssembly kernels and, for --compare convnetjs, ConvNetJS on the same networks, each
// timed in the page's own thread as bench/timing.ts times them in Node.
import { builtinSpec, startWasmKernels, type WasmKernels, withKernels } from '../src/core.js';
import { convnetjsStep } from './convnetjs-net.js';
import { type Mode, makeStep } from './timing.js';

const pools = new Map<number, WasmKernels>();
const steps = new Map<string, () => void>();

const api = {
  /** Starts the kernels on `threads` threads (once per count); says what runs. */
  async start(threads: number) {
    let s = pools.get(threads);
    if (!s) {
      s = await startWasmKernels({ from: new URL('wasm/', location.href), threads });
      pools.set(threads, s);
    }
    return { threads: s.threads, simd: s.simd, kernels: s.kernels.name, notice: s.notice };
  },
  /** Builds contender `id`: convts on the pool of `threads`, or ConvNetJS. */
  setup(id: string, who: 'convts' | 'convnetjs', threads: number, net: string, mode: Mode, batch: number) {
    if (who === 'convnetjs') {
      steps.set(id, convnetjsStep(net, mode, batch));
      return;
    }
    const k = pools.get(threads)?.kernels;
    if (!k) throw new Error(`no kernels started on ${threads} threads`);
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
