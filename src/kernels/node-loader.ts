// Finds and loads the kernel sets built on this machine (Node only: the browser-safe core never
// reaches this file; browsers load the WebAssembly kernels with useWasmKernels()).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UsageError } from '../errors.js';
import { type Kernels, referenceKernels } from './index.js';
import { type NativeAddon, nativeKernels } from './native/index.js';
import { wasmKernels } from './wasm/index.js';
import { type StartWasmOptions, startWasmKernels, type WasmKernels, wasmFiles } from './wasm/load.js';
import { type SpawnWorker, startWasmThreads, type WasmThreads, wasmSharedKernels } from './wasm/pool.js';

/** A kernel set the bench and the trainer can pick, with the threads it runs on. */
export interface Backend {
  name: string;
  threads: number;
  kernels: Kernels;
}

/**
 * The native builds (binding.gyp), slowest first, and the CPU features each needs. The baseline runs on
 * any x86-64 (or is the one build elsewhere); it reports the CPU's features, so a build directory
 * moved to an older CPU picks a variant that runs there instead of dying on an illegal instruction.
 */
export const nativeVariants = [
  { name: 'baseline', needs: [] },
  { name: 'avx2', needs: ['avx2', 'fma'] },
  { name: 'avx512', needs: ['avx2', 'fma', 'avx512f', 'avx512vl', 'avx512bw', 'avx512dq'] },
] as const;
export type NativeVariant = (typeof nativeVariants)[number]['name'];

const root = new URL('../../../', import.meta.url);
const addonPath = (v: string) => fileURLToPath(new URL(`build/Release/convts_${v}.node`, root));
// Shipped in the package (built at publish), rebuilt by npm install when native/ changed.
const wasmPath = (file: string) => fileURLToPath(new URL(`dist/wasm/${file}`, root));
const addons = new Map<string, NativeAddon | null>();
let wasm: WebAssembly.Module | null | undefined;
let wasmThreaded: WebAssembly.Module | null | undefined;

/** One native variant, or null when it was not built (or does not load). Never checks the CPU. */
function loadVariant(v: NativeVariant): NativeAddon | null {
  if (!addons.has(v))
    addons.set(
      v,
      tryLoad(addonPath(v), (p) => createRequire(import.meta.url)(p) as NativeAddon),
    );
  return addons.get(v) ?? null;
}

/** Of the variants `built`, those a CPU with features `cpu` runs, slowest first. */
export function runnableOn(cpu: readonly string[], built: (v: NativeVariant) => boolean): NativeVariant[] {
  return nativeVariants.filter((v) => v.needs.every((f) => cpu.includes(f)) && built(v.name)).map((v) => v.name);
}

/** The native variants built here that this CPU can run, slowest first. */
export function runnableNativeVariants(): NativeVariant[] {
  const base = loadVariant('baseline');
  return base ? runnableOn(base.cpu, (v) => v === 'baseline' || loadVariant(v) !== null) : [];
}

/**
 * The C++ addon: the variant named by `variant` or $CONVTS_NATIVE_VARIANT, else the fastest this CPU
 * runs; null when none was built. A named variant that is not built or that this CPU lacks is an error.
 */
export function loadNativeAddon(variant = process.env.CONVTS_NATIVE_VARIANT || undefined): NativeAddon | null {
  const runnable = runnableNativeVariants();
  if (variant === undefined) return runnable.length ? loadVariant(runnable[runnable.length - 1]) : null;
  const known = nativeVariants.find((v) => v.name === variant);
  // Named as the user gave it: most often the environment variable, not a flag.
  const what =
    variant === process.env.CONVTS_NATIVE_VARIANT
      ? `CONVTS_NATIVE_VARIANT="${variant}"`
      : `native variant "${variant}"`;
  if (!known)
    throw new UsageError(`${what} is not a native variant: use ${nativeVariants.map((v) => v.name).join(', ')}`);
  if (!loadVariant(known.name)) throw new UsageError(`native variant ${variant} is not built here — run npm install`);
  if (!runnable.includes(known.name)) {
    const have = loadVariant('baseline')?.cpu ?? [];
    const lacks = known.needs.filter((f) => !have.includes(f));
    throw new UsageError(`native variant ${variant} needs ${lacks.join(', ')}, which this CPU lacks — use baseline`);
  }
  return loadVariant(known.name);
}

/**
 * A packaged module, its relaxed-SIMD build (fused multiply-add) where this engine validates it — Node 22
 * and later, or Node 20 with --experimental-wasm-relaxed-simd, as browsers do in startWasmKernels — else
 * the plain SIMD128 one; null when neither was built.
 */
function loadWasm(relaxed: string, plain: string): WebAssembly.Module | null {
  const bytes = tryLoad(wasmPath(relaxed), (p) => readFileSync(p));
  if (bytes && WebAssembly.validate(bytes)) return new WebAssembly.Module(bytes);
  return tryLoad(wasmPath(plain), (p) => new WebAssembly.Module(readFileSync(p)));
}

/** The compiled WebAssembly kernels, or null when they were not built (or this engine lacks SIMD). */
export function loadWasmModule(): WebAssembly.Module | null {
  if (wasm === undefined) wasm = loadWasm(wasmFiles.relaxed, wasmFiles.simd128);
  return wasm;
}

/** The threaded WebAssembly kernels (convts-mt.wasm or its relaxed build), or null when they were not built. */
export function loadWasmThreadedModule(): WebAssembly.Module | null {
  if (wasmThreaded === undefined) wasmThreaded = loadWasm(wasmFiles.threadsRelaxed, wasmFiles.threadsSimd128);
  return wasmThreaded;
}

/**
 * The WebAssembly kernels on this thread: the threaded module without workers when it is built (its
 * shared memory holds the layers' arrays, so calls copy less), else the one-thread module; null if neither.
 */
export function loadWasmKernels(): Kernels | null {
  const threaded = loadWasmThreadedModule();
  if (threaded) return wasmSharedKernels(threaded);
  const module = loadWasmModule();
  return module && wasmKernels(module);
}

/** Pool workers as worker_threads; unref'd, so that they never keep the process alive. */
export const spawnNodeWorker: SpawnWorker = (source) => {
  const w = new Worker(source, { eval: true });
  w.unref();
  return {
    post: (m) => w.postMessage(m),
    onFirst(done) {
      w.once('message', (m) => done(m === 'ready' ? null : String(m)));
      w.once('error', (e) => done(e.message));
    },
    terminate: () => void w.terminate(),
  };
};

/** The threaded WebAssembly kernels on `threads` threads (this one and threads − 1 worker threads), or null when not built. */
export async function startNodeWasmThreads(threads: number): Promise<WasmThreads | null> {
  const module = loadWasmThreadedModule();
  return module && startWasmThreads(module, threads, spawnNodeWorker);
}

/**
 * startWasmKernels in Node: the packaged modules read from disk, pool workers as worker_threads, every
 * core by default ($CONVTS_THREADS). Makes them the active kernels.
 */
export function startNodeWasmKernels(options: StartWasmOptions = {}): Promise<WasmKernels> {
  return startWasmKernels({
    from: async (file) => readFileSync(wasmPath(file)),
    spawn: spawnNodeWorker,
    threads: defaultThreads(),
    ...options,
  });
}

function tryLoad<T>(path: string, load: (path: string) => T): T | null {
  if (!existsSync(path)) return null;
  try {
    return load(path);
  } catch {
    return null;
  }
}

/** Threads for the kernels: $CONVTS_THREADS (1 … 4 × cores), else every core this process may use. Environment
 * variables are part of the command line, so their mistakes are usage errors (exit code 2). */
export function defaultThreads(): number {
  const cores = Math.max(1, os.availableParallelism());
  const env = process.env.CONVTS_THREADS;
  if (env === undefined || env === '') return cores;
  const t = Number(env);
  if (!/^\d+$/.test(env.trim()) || t < 1 || t > 4 * cores)
    throw new UsageError(
      `CONVTS_THREADS must be a whole number from 1 to ${4 * cores} (4 × ${cores} cores), got "${env}"`,
    );
  return t;
}

/** Every kernel set this machine can run, at 1 thread and at all cores; reference always, faster ones when built. */
export function availableBackends(): Backend[] {
  const list: Backend[] = [{ name: 'reference', threads: 1, kernels: referenceKernels }];
  const native = loadNativeAddon();
  const counts = [...new Set([1, defaultThreads()])];
  const wasm = loadWasmKernels();
  if (wasm) list.push({ name: 'wasm', threads: 1, kernels: wasm });
  if (native) for (const t of counts) list.push({ name: 'native', threads: t, kernels: nativeKernels(native, t) });
  return list;
}

/** The fastest kernel set built here, on `threads` threads (default: all cores). */
export function fastestKernels(threads = defaultThreads()): Kernels {
  const native = loadNativeAddon();
  if (native) return nativeKernels(native, threads);
  return loadWasmKernels() ?? referenceKernels;
}

/** The kernel set named by $CONVTS_BACKEND (reference, wasm or native), else the fastest built. */
export function defaultKernels(): Kernels {
  const want = process.env.CONVTS_BACKEND;
  if (want === undefined || want === '') return fastestKernels();
  if (want === 'reference') return referenceKernels;
  const native = want === 'native' ? loadNativeAddon() : null;
  if (native) return nativeKernels(native, defaultThreads());
  const wasm = want === 'wasm' ? loadWasmKernels() : null;
  if (wasm) return wasm;
  throw new UsageError(
    `CONVTS_BACKEND=${want}: ${['native', 'wasm'].includes(want) ? 'not built on this machine — npm install builds it (see its notice)' : 'use reference, wasm or native'}`,
  );
}
