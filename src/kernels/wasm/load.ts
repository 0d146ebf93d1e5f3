// Loading the WebAssembly kernels anywhere: browsers, workers, Node. No Node import, so it is part of
// convts/core; the Node entry also finds the module on disk by itself (kernels/node-loader.ts).
import { ConfigError } from '../../errors.js';
import { useKernels } from '../index.js';
import type { Kernels } from '../kernels.js';
import { wasmKernels } from './index.js';
import {
  canMakeSharedMemory,
  canShareMemory,
  type SpawnWorker,
  spawnWebWorker,
  startWasmThreads,
  wasmSharedKernelsAsync,
} from './pool.js';

/** Where the compiled kernels come from: their bytes, a URL to fetch, or an already compiled module. */
export type WasmSource = { bytes: BufferSource } | { url: string | URL } | { module: WebAssembly.Module };

/** The four packaged modules: one thread or threads, plain SIMD128 or relaxed SIMD (fused multiply-add). */
export const wasmFiles = {
  simd128: 'convts.wasm',
  relaxed: 'convts-relaxed.wasm',
  threadsSimd128: 'convts-mt.wasm',
  threadsRelaxed: 'convts-mt-relaxed.wasm',
} as const;

/**
 * The packaged module (dist/wasm/convts.wasm, or another of wasmFiles) beside this file, for code
 * served straight from the package; a bundle that moves this file must pass its own `url` or `bytes`.
 * A function, so that a bundle format without import.meta can still import the core.
 */
export function packagedWasmUrl(file: string = wasmFiles.simd128): URL {
  return new URL(`../../../wasm/${file}`, import.meta.url);
}

/** Compiles (or takes) the module; errors name the source and what to do. */
export async function compileWasmKernels(src: WasmSource): Promise<WebAssembly.Module> {
  if ('module' in src) return src.module;
  if ('bytes' in src) return WebAssembly.compile(src.bytes);
  return WebAssembly.compile(await fetchBytes(src.url));
}

async function fetchBytes(where: string | URL): Promise<ArrayBuffer> {
  const url = String(where);
  if (url.startsWith('file:'))
    throw new ConfigError(`${url}: fetch cannot read files in Node — pass { bytes } read from it instead`);
  const response = await fetch(url);
  if (!response.ok) throw new ConfigError(`${url}: HTTP ${response.status} — check where the .wasm files are served`);
  return response.arrayBuffer();
}

export interface WasmKernelOptions {
  /**
   * Threads, the caller included (default 1). More than one needs the threaded module (convts-mt.wasm
   * or convts-mt-relaxed.wasm) and memory shared between threads: a cross-origin isolated page or
   * worker, or Node.
   */
  threads?: number;
  /** How a pool worker starts (default: a Web Worker); Node's entry passes worker_threads. */
  spawn?: SpawnWorker;
  /**
   * How many times an idle pool worker checks for the next call before it sleeps (about a nanosecond
   * each; default 25,000), counted from the caller's last kernel call, even one it ran alone. Spinning answers the next call at once but costs CPU time while the
   * caller runs JavaScript between calls; a sleeping worker takes a wake-up (tens of microseconds).
   */
  spins?: number;
}

/** A started kernel set and how it runs. */
export interface WasmKernels {
  kernels: Kernels;
  /** Threads that share each kernel call (the caller and the workers that started). */
  threads: number;
  /** Relaxed SIMD (fused multiply-add) or plain SIMD128. */
  simd: 'relaxed' | 'simd128';
  /** Why fewer threads run than were asked for, for the page to show; null when all run. */
  notice: string | null;
  /** Work items each thread has run (the caller first; empty on one thread). */
  itemsRun(): number[];
  /** Sets WasmKernelOptions.spins (nothing to set on one thread). */
  setSpins(spins: number): void;
  /** Stops the pool's workers (nothing to stop on one thread). */
  terminate(): void;
}

/**
 * Makes the WebAssembly SIMD kernels the set every layer uses and returns them: on one thread, or with
 * `threads` > 1 on the threaded module given as `src` with a pool of workers (see startWasmKernels to
 * pick the module by what the engine and the page allow). A browser without 128-bit SIMD fails here,
 * with the engine's compile error.
 */
export async function useWasmKernels(
  src: WasmSource = { url: packagedWasmUrl() },
  options: WasmKernelOptions = {},
): Promise<Kernels> {
  const module = await compileWasmKernels(src);
  const threads = options.threads ?? 1;
  const threaded = WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
  if (threads > 1 && !threaded)
    throw new ConfigError(`threads: ${threads} needs the threaded module (${wasmFiles.threadsSimd128}), not this one`);
  if (threaded && !canShareMemory() && !(threads <= 1 && canMakeSharedMemory()))
    throw new ConfigError(
      'the threaded WebAssembly module needs memory shared between threads: serve the page with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp',
    );
  const k = !threaded
    ? wasmKernels(await WebAssembly.instantiate(module, {}))
    : threads > 1
      ? (await startPool(module, threads, options)).kernels
      : await wasmSharedKernelsAsync(module);
  useKernels(k);
  return k;
}

export interface StartWasmOptions extends WasmKernelOptions {
  /**
   * Where the .wasm files are (a folder URL ending in "/"; default: the package's dist/wasm/), or a
   * function that gives the bytes of one of wasmFiles (Node reads them from disk).
   */
  from?: string | URL | ((file: string) => Promise<BufferSource>);
  /** Threads, the caller included; default: every core when memory can be shared, else 1. */
  threads?: number;
  /** Force plain SIMD128 or relaxed SIMD; default: relaxed where the engine compiles it. */
  simd?: 'relaxed' | 'simd128';
}

/**
 * Starts the fastest kernels this context allows and makes them the active set: the threaded module on
 * `threads` threads where memory can be shared (a page served with COOP/COEP headers, a worker of one,
 * Node), else one thread with a notice saying why; relaxed SIMD where the engine validates it.
 */
export async function startWasmKernels(options: StartWasmOptions = {}): Promise<WasmKernels> {
  const from = options.from ?? packagedWasmUrl('');
  const read = typeof from === 'function' ? from : (file: string) => fetchBytes(new URL(file, from));
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  const shared = canShareMemory();
  const want = Math.max(1, Math.floor(options.threads ?? (shared ? cores : 1)));
  const threaded = want > 1 && shared;
  const notice =
    want > 1 && !shared
      ? `one thread instead of ${want}: this page is not cross-origin isolated (it needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)`
      : null;
  // On one thread, the threaded module too where a shared memory can be made (Node, Chromium even
  // without isolation): layers keep their arrays in it, where the one-thread module copies every array
  // in and out of its own memory at each call.
  const oneShared = !threaded && canMakeSharedMemory();
  const [relaxedFile, plainFile] =
    threaded || oneShared
      ? [wasmFiles.threadsRelaxed, wasmFiles.threadsSimd128]
      : [wasmFiles.relaxed, wasmFiles.simd128];
  let simd: 'relaxed' | 'simd128' = 'simd128';
  let bytes: BufferSource | null = null;
  if (options.simd !== 'simd128') {
    // An engine without relaxed SIMD fails validation; a missing optional file is the same answer.
    const b = await read(relaxedFile).catch(() => null);
    if (b && WebAssembly.validate(b)) [bytes, simd] = [b, 'relaxed'];
    else if (options.simd === 'relaxed') throw new ConfigError(`${relaxedFile}: relaxed SIMD is not available here`);
  }
  bytes ??= await read(plainFile);
  const module = await WebAssembly.compile(bytes);
  if (!threaded) {
    const kernels = oneShared
      ? await wasmSharedKernelsAsync(module)
      : wasmKernels(await WebAssembly.instantiate(module, {}));
    useKernels(kernels);
    return { kernels, threads: 1, simd, notice, itemsRun: () => [], setSpins() {}, terminate() {} };
  }
  const pool = await startPool(module, want, options);
  useKernels(pool.kernels);
  return {
    kernels: pool.kernels,
    threads: pool.threads,
    simd,
    notice: pool.failures.length
      ? `${pool.threads} of ${want} threads: ${pool.failures.length} worker(s) did not start (${pool.failures[0]})`
      : null,
    itemsRun: pool.itemsRun,
    setSpins: pool.setSpins,
    terminate: () => pool.terminate(),
  };
}

async function startPool(module: WebAssembly.Module, threads: number, options: WasmKernelOptions) {
  const spins = options.spins;
  if (spins !== undefined && !(Number.isFinite(spins) && spins >= 0))
    throw new ConfigError(`spins: must be a number of spins ≥ 0, got ${spins}`);
  const pool = await startWasmThreads(module, threads, options.spawn ?? spawnWebWorker);
  if (options.spins !== undefined) pool.setSpins(options.spins);
  return pool;
}
