// The threaded WebAssembly kernels (dist/wasm/convts-mt.wasm): one shared memory, the module
// instantiated once on the calling thread and once in each of threads − 1 workers (Web Workers in a
// page, worker_threads in Node). Workers wait in the module's workerLoop and take items of each kernel's
// parallel_for beside the caller; the caller takes any item no worker has, so a worker that starts late
// or is never scheduled slows a call down but cannot stall it. No Node import: part of convts/core.
import type { Kernels } from '../kernels.js';
import { type WasmExports, wasmKernelsOn } from './index.js';

/** Exports the threaded build adds (native/wasm.cc). */
interface ThreadExports extends WasmExports {
  __stack_pointer: WebAssembly.Global;
  threadInit(): void;
  stackTop(bytes: number): number;
  workerLoop(id: number): void;
  setThreads(n: number): void;
  setSpins(n: number): void;
  itemsRun(id: number): number;
}

/** The memory the threaded module imports: tools/build-kernels.mjs links it with these sizes (64 KiB pages). */
export const sharedMemoryPages = { initial: 256, maximum: 32768 } as const;
const stackBytes = 1 << 20;

/** A started worker: what the pool needs of a Web Worker or a Node worker_threads Worker. */
export interface PoolWorker {
  post(message: unknown): void;
  /** Calls back once with the worker's first message ('ready') or its failure. */
  onFirst(done: (error: string | null) => void): void;
  terminate(): void;
}

/** Starts one worker running `source` (a classic script, or CommonJS in Node). */
export type SpawnWorker = (source: string) => PoolWorker;

/** The kernels on threads, the threads that started, and how to stop the workers. */
export interface WasmThreads {
  kernels: Kernels;
  /** Threads now sharing each kernel call: the caller and the workers that started. */
  threads: number;
  /** Failures of workers that did not start (empty when all did). */
  failures: string[];
  /** Work items each thread has run so far (the caller first): shows that the workers take part. */
  itemsRun(): number[];
  /** How many times an idle worker checks for work before it sleeps (see WasmKernelOptions.spins). */
  setSpins(spins: number): void;
  /** Stops the workers; the kernels then run on the calling thread alone. */
  terminate(): void;
}

// Runs in each worker, in a page (self.onmessage) or in Node (worker_threads' parentPort): instantiate
// the module on the shared memory, give it its own stack and thread-local block, then work forever.
const workerSource = `'use strict';
const start = async (d, post) => {
  try {
    const i = await WebAssembly.instantiate(d.module, { env: { memory: d.memory } });
    i.exports.__stack_pointer.value = d.stack;
    i.exports.threadInit();
    post('ready');
    i.exports.workerLoop(d.id);
  } catch (e) {
    post('failed: ' + (e && e.message ? e.message : e));
  }
};
if (typeof require === 'function') {
  const port = require('worker_threads').parentPort;
  port.once('message', (d) => start(d, (m) => port.postMessage(m)));
} else {
  self.onmessage = (e) => start(e.data, (m) => self.postMessage(m));
}`;

/** A Web Worker from the script above, as a blob: URL (no file to serve, no bundler step). */
export const spawnWebWorker: SpawnWorker = (source) => {
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const w = new Worker(url);
  URL.revokeObjectURL(url);
  return {
    post: (m) => w.postMessage(m),
    onFirst(done) {
      w.onmessage = (e) => done(e.data === 'ready' ? null : String(e.data));
      w.onerror = (e) => done(e.message || 'the worker failed to start');
    },
    terminate: () => w.terminate(),
  };
};

/**
 * Whether this context can share WebAssembly memory between threads: a cross-origin isolated page or
 * worker (COOP/COEP headers), or Node.
 */
export function canShareMemory(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
  if (typeof g.SharedArrayBuffer !== 'function') return false;
  return g.crossOriginIsolated !== false;
}

/**
 * Whether this context can make a shared WebAssembly memory, even if it cannot hand one to a worker:
 * Chromium makes them in pages that are not cross-origin isolated too (with no SharedArrayBuffer
 * global), other engines may refuse.
 */
export function canMakeSharedMemory(): boolean {
  try {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return Object.prototype.toString.call(m.buffer) === '[object SharedArrayBuffer]';
  } catch {
    return false;
  }
}

/**
 * The threaded module on the calling thread alone, instantiated at once (Node; a page may refuse to
 * compile or instantiate a large module synchronously). Its memory is shared, so layers keep their arrays
 * in it and calls copy none of them: faster than the one-thread module, which copies every array.
 */
export function wasmSharedKernels(module: WebAssembly.Module, name = 'wasm-simd128'): Kernels {
  const memory = new WebAssembly.Memory({ ...sharedMemoryPages, shared: true });
  return onOneThread(new WebAssembly.Instance(module, { env: { memory } }), memory, name);
}

/** wasmSharedKernels instantiated asynchronously, as pages and their workers prefer. */
export async function wasmSharedKernelsAsync(module: WebAssembly.Module, name = 'wasm-simd128'): Promise<Kernels> {
  const memory = new WebAssembly.Memory({ ...sharedMemoryPages, shared: true });
  return onOneThread(await WebAssembly.instantiate(module, { env: { memory } }), memory, name);
}

function onOneThread(instance: WebAssembly.Instance, memory: WebAssembly.Memory, name: string): Kernels {
  const e = instance.exports as unknown as ThreadExports;
  if (typeof e.workerLoop !== 'function') throw new Error('not the threaded WebAssembly module (no workerLoop)');
  e.threadInit();
  return wasmKernelsOn(e, memory, name);
}

/**
 * Instantiates the threaded module on a new shared memory and starts threads − 1 workers with `spawn`.
 * Resolves once each worker has started or failed (within `timeoutMs`); the kernels work from the
 * start, on the threads that are up.
 */
export async function startWasmThreads(
  module: WebAssembly.Module,
  threads: number,
  spawn: SpawnWorker = spawnWebWorker,
  timeoutMs = 20_000,
): Promise<WasmThreads> {
  const memory = new WebAssembly.Memory({ ...sharedMemoryPages, shared: true });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const e = instance.exports as unknown as ThreadExports;
  if (typeof e.workerLoop !== 'function') throw new Error('not the threaded WebAssembly module (no workerLoop)');
  e.threadInit();
  const workers: PoolWorker[] = [];
  const started = await Promise.all(
    Array.from({ length: Math.max(0, threads - 1) }, (_, i) => {
      const stack = e.stackTop(stackBytes);
      return new Promise<string | null>((resolve) => {
        let w: PoolWorker;
        try {
          w = spawn(workerSource);
        } catch (err) {
          return resolve(err instanceof Error ? err.message : String(err));
        }
        workers.push(w);
        const timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
        w.onFirst((error) => {
          clearTimeout(timer);
          resolve(error);
        });
        w.post({ module, memory, stack, id: i + 1 });
      });
    }),
  );
  const failures = started.filter((s): s is string => s !== null);
  // Work stays split in `threads` parts when a worker failed: the caller takes its share, and the
  // workers keep their ids (a job goes to ids below its thread count).
  const up = 1 + started.filter((s) => s === null).length;
  e.setThreads(up > 1 ? threads : 1);
  const kernels = wasmKernelsOn(e, memory, 'wasm-simd128-threads');
  return {
    kernels,
    threads: up,
    failures,
    itemsRun: () => Array.from({ length: threads }, (_, i) => e.itemsRun(i)),
    setSpins: (spins) => e.setSpins(Math.max(0, Math.min(2 ** 31 - 1, Math.round(spins)))),
    terminate() {
      e.setThreads(1);
      for (const w of workers) w.terminate();
    },
  };
}
