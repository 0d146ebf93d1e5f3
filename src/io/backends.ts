import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { type Kernels, referenceKernels } from '../kernels/index.js';
import { type NativeAddon, nativeKernels } from '../kernels/native/index.js';
import { wasmKernels } from '../kernels/wasm/index.js';

/** A kernel set the bench and the trainer can pick, with the threads it runs on. */
export interface Backend {
  name: string;
  threads: number;
  kernels: Kernels;
}

// Built by `npm install` (tools/build-kernels.mjs); absent when the machine could not build them.
const addonPath = fileURLToPath(new URL('../../../build/Release/convts.node', import.meta.url));
const wasmPath = fileURLToPath(new URL('../../../build/convts.wasm', import.meta.url));
let addon: NativeAddon | null | undefined;
let wasm: WebAssembly.Module | null | undefined;

/** The C++ addon, or null when it was not built (or does not load: then convts runs on the others). */
export function loadNativeAddon(): NativeAddon | null {
  if (addon === undefined) addon = tryLoad(addonPath, (p) => createRequire(import.meta.url)(p) as NativeAddon);
  return addon;
}

/** The compiled WebAssembly kernels, or null when they were not built (or this engine lacks SIMD). */
export function loadWasmModule(): WebAssembly.Module | null {
  if (wasm === undefined) wasm = tryLoad(wasmPath, (p) => new WebAssembly.Module(readFileSync(p)));
  return wasm;
}

function tryLoad<T>(path: string, load: (path: string) => T): T | null {
  if (!existsSync(path)) return null;
  try {
    return load(path);
  } catch {
    return null;
  }
}

/** Threads for the kernels: $CONVTS_THREADS, else every core this process may use. */
export function defaultThreads(): number {
  const env = process.env.CONVTS_THREADS;
  if (env !== undefined) {
    const t = Number(env);
    if (!Number.isInteger(t) || t < 1) throw new ConfigError(`CONVTS_THREADS must be a whole number ≥ 1, got "${env}"`);
    return t;
  }
  return Math.max(1, os.availableParallelism());
}

/** Every kernel set this machine can run, at 1 thread and at all cores; reference always, faster ones when built. */
export function availableBackends(): Backend[] {
  const list: Backend[] = [{ name: 'reference', threads: 1, kernels: referenceKernels }];
  const native = loadNativeAddon();
  const counts = [...new Set([1, defaultThreads()])];
  const module = loadWasmModule();
  if (module) list.push({ name: 'wasm', threads: 1, kernels: wasmKernels(module) });
  if (native) for (const t of counts) list.push({ name: 'native', threads: t, kernels: nativeKernels(native, t) });
  return list;
}

/** The fastest kernel set built here, on `threads` threads (default: all cores). */
export function fastestKernels(threads = defaultThreads()): Kernels {
  const native = loadNativeAddon();
  if (native) return nativeKernels(native, threads);
  const module = loadWasmModule();
  return module ? wasmKernels(module) : referenceKernels;
}

/** The kernel set named by $CONVTS_BACKEND (reference, wasm or native), else the fastest built. */
export function defaultKernels(): Kernels {
  const want = process.env.CONVTS_BACKEND;
  if (want === undefined || want === '') return fastestKernels();
  if (want === 'reference') return referenceKernels;
  const native = want === 'native' ? loadNativeAddon() : null;
  if (native) return nativeKernels(native, defaultThreads());
  const module = want === 'wasm' ? loadWasmModule() : null;
  if (module) return wasmKernels(module);
  throw new ConfigError(
    `CONVTS_BACKEND=${want}: ${['native', 'wasm'].includes(want) ? 'not built on this machine — npm install builds it (see its notice)' : 'use reference, wasm or native'}`,
  );
}
