// What the npm package holds: an install that may not run scripts (npm install --ignore-scripts) or
// cannot build the addon still has the WebAssembly SIMD kernels, and `convts bench --compare torch`
// finds its PyTorch script.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers/tmp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const wasmBuilt = existsSync(join(root, 'dist/wasm/convts.wasm'));

test('the packed package, installed without scripts, runs on the WebAssembly kernels it ships', {
  skip: wasmBuilt ? false : 'dist/wasm/convts.wasm not built (clang and lld missing)',
}, () => {
  const dir = tempDir('convts-pack-');
  // --ignore-scripts: the test packs what is built; `npm pack` itself rebuilds the module (prepack).
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(pack.status, 0, pack.stderr);
  const info = JSON.parse(pack.stdout)[0];
  const files = new Set(info.files.map((f: { path: string }) => f.path));
  for (const want of [
    'dist/wasm/convts.wasm',
    'tools/bench_torch.py',
    'dist/bench/speed.js',
    'dist/src/core.js',
    'dist/src/index.js',
    'binding.gyp',
    'native/addon.cc',
    'tools/build-kernels.mjs',
  ])
    assert.ok(files.has(want), `the package lacks ${want}`);
  const pkg = join(dir, 'node_modules', 'convts');
  mkdirSync(pkg, { recursive: true });
  const untar = spawnSync('tar', ['-xzf', join(dir, info.filename), '-C', pkg, '--strip-components=1']);
  assert.equal(untar.status, 0, String(untar.stderr));
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
  const code = `import { kernels } from 'convts'; import * as core from 'convts/core'; console.log(kernels().name, typeof core.useWasmKernels);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'wasm-simd128 function');
});
