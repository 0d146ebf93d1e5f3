// Loading the WebAssembly kernels anywhere: browsers, workers, Node. No Node import, so it is part of
// convts/core; the Node entry also finds the module on disk by itself (kernels/node-loader.ts).
import { ConfigError } from '../../errors.js';
import { useKernels } from '../index.js';
import type { Kernels } from '../kernels.js';
import { wasmKernels } from './index.js';

/** Where the compiled kernels come from: their bytes, a URL to fetch, or an already compiled module. */
export type WasmSource = { bytes: BufferSource } | { url: string | URL } | { module: WebAssembly.Module };

/**
 * The packaged module (dist/wasm/convts.wasm) beside this file, for code served straight from the
 * package; a bundle that moves this file must pass its own `url` or `bytes`. A function, so that a
 * bundle format without import.meta can still import the core.
 */
export function packagedWasmUrl(): URL {
  return new URL('../../../wasm/convts.wasm', import.meta.url);
}

/** Compiles (or takes) the module; errors name the source and what to do. */
export async function compileWasmKernels(src: WasmSource): Promise<WebAssembly.Module> {
  if ('module' in src) return src.module;
  if ('bytes' in src) return WebAssembly.compile(src.bytes);
  const url = String(src.url);
  if (url.startsWith('file:'))
    throw new ConfigError(`${url}: fetch cannot read files in Node — pass { bytes } read from it instead`);
  const response = await fetch(url);
  if (!response.ok) throw new ConfigError(`${url}: HTTP ${response.status} — check where convts.wasm is served`);
  return WebAssembly.compile(await response.arrayBuffer());
}

/**
 * Makes the WebAssembly SIMD kernels (one thread) the set every layer uses and returns them.
 * A browser without 128-bit SIMD fails here, with the engine's compile error.
 */
export async function useWasmKernels(src: WasmSource = { url: packagedWasmUrl() }): Promise<Kernels> {
  const module = await compileWasmKernels(src);
  const k = wasmKernels(await WebAssembly.instantiate(module, {}));
  useKernels(k);
  return k;
}
