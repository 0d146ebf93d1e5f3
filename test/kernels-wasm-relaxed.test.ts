// The relaxed-SIMD WebAssembly module (fused multiply-add in the gemm loops) against the reference
// kernels. Node 20 runs relaxed SIMD only behind a flag: without it this file runs itself again with it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { wasmKernels } from '../src/kernels/wasm/index.js';
import { checkKernelSet } from './helpers/kernel-check.js';

const file = fileURLToPath(new URL('../wasm/convts-relaxed.wasm', import.meta.url));
const flag = '--experimental-wasm-relaxed-simd';
const bytes = existsSync(file) ? readFileSync(file) : null;

if (!bytes) {
  test('relaxed SIMD kernels', { skip: `${file} not built — npm install builds it with clang and lld` }, () => {});
} else if (WebAssembly.validate(bytes)) {
  checkKernelSet(
    'wasm relaxed-simd',
    () => wasmKernels(new WebAssembly.Instance(new WebAssembly.Module(bytes), {})),
    'not reached',
  );
} else {
  test(`relaxed SIMD kernels match the reference (node ${flag})`, () => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // else the child reports to the runner in its binary format, not TAP
    const r = spawnSync(process.execPath, [flag, '--test', fileURLToPath(import.meta.url)], { encoding: 'utf8', env });
    assert.equal(
      r.status,
      0,
      `${r.stdout}\n${r.stderr}`
        .split('\n')
        .filter((l) => /not ok|error|Error/.test(l))
        .join('\n'),
    );
    assert.match(r.stdout, /# pass [1-9]/);
  });
}
