import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, kernels, packagedWasmUrl, referenceKernels, useKernels, useWasmKernels } from '../src/core.js';
import { loadWasmModule } from '../src/kernels/node-loader.js';
import { wasmKernels } from '../src/kernels/wasm/index.js';
import { checkKernelSet } from './helpers/kernel-check.js';

const module = loadWasmModule();
checkKernelSet(
  'wasm',
  () => module && wasmKernels(module),
  'npm install builds it when clang and lld are installed (apt-get install clang lld)',
);

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
