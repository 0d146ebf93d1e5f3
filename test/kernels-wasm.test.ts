import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, kernels, packagedWasmUrl, referenceKernels, useKernels, useWasmKernels } from '../src/core.js';
import {
  availableBackends,
  loadWasmKernels,
  loadWasmModule,
  loadWasmThreadedModule,
} from '../src/kernels/node-loader.js';
import { wasmKernels } from '../src/kernels/wasm/index.js';
import { checkKernelSet } from './helpers/kernel-check.js';

const module = loadWasmModule();
checkKernelSet(
  'wasm',
  () => module && wasmKernels(module),
  'npm install builds it when clang and lld are installed (apt-get install clang lld)',
);

// Node's "wasm" backend: the threaded module on this thread alone, its arrays in its shared memory.
const threaded = loadWasmThreadedModule();
checkKernelSet(
  'wasm on one thread, shared memory',
  () => threaded && loadWasmKernels(),
  'npm install builds convts-mt.wasm when clang and lld are installed',
);

test("Node's wasm backend keeps the layers' arrays in its memory when convts-mt.wasm is built", (t) => {
  if (!threaded) return t.skip('convts-mt.wasm not built');
  const wasm = availableBackends().find((b) => b.name === 'wasm');
  assert.equal(wasm?.threads, 1);
  const a = wasm?.kernels.allocF32?.(100);
  assert.ok(a?.buffer instanceof SharedArrayBuffer, 'no array in the module memory');
  assert.ok(a.every((v) => v === 0));
});

test('useWasmKernels loads the packaged module from bytes or a compiled module and makes it the active set', async (t) => {
  if (!module) return t.skip('dist/wasm/convts.wasm not built');
  const bytes = readFileSync(fileURLToPath(packagedWasmUrl()));
  try {
    for (const src of [{ bytes }, { module }]) {
      useKernels(referenceKernels);
      const k = await useWasmKernels(src);
      assert.equal(k.name, 'wasm-simd128');
      assert.equal(kernels(), k);
      const y = new Float32Array(4);
      kernels().gemm(false, false, 2, 2, 1, Float32Array.of(1, 2), Float32Array.of(3, 4), y, false);
      assert.deepEqual([...y], [3, 4, 6, 8]);
    }
  } finally {
    useKernels(referenceKernels);
  }
});

test('useWasmKernels explains a file: URL in Node and rejects bytes that are not a module', async () => {
  await assert.rejects(useWasmKernels({ url: packagedWasmUrl() }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /convts\.wasm: fetch cannot read files in Node — pass \{ bytes \}/);
    return true;
  });
  await assert.rejects(useWasmKernels({ bytes: new Uint8Array([1, 2, 3]) }), WebAssembly.CompileError);
  assert.equal(kernels(), referenceKernels, 'a failed load leaves the kernels as they were');
});
