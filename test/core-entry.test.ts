// convts/core must run in a browser or a worker: nothing it reaches may import Node, the data readers,
// files, reports, the command line or run directories. The training loop is part of the core
// (src/train/trainer.ts, metrics.ts, the training aids in recipe.ts, the data-dependent
// initialization in data-init.ts and the Dataset interface in dataset.ts); the rest of train/ is not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { kernels, referenceKernels, useKernels, withKernels } from '../src/core.js';
import { importsOf } from './helpers/imports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const allowedTrain = new Set([
  'src/train/trainer.ts',
  'src/train/metrics.ts',
  'src/train/recipe.ts',
  'src/train/dataset.ts',
  'src/train/data-init.ts',
]);
const forbidden = /^src\/(data|report|cli|run|io|features)\//;

/** Walks the import graph from `entry` (a path under src/) and returns each rule it breaks. */
export function coreViolations(entry: string): string[] {
  const seen = new Set<string>();
  const bad: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of importsOf(readFileSync(join(root, file), 'utf8'))) {
      if (!spec.startsWith('.')) {
        bad.push(`${file} imports "${spec}" (core imports only its own relative modules)`);
        continue;
      }
      const target = relative(root, join(root, dirname(file), spec)).replace(/\.js$/, '.ts');
      if (forbidden.test(target) || (target.startsWith('src/train/') && !allowedTrain.has(target)))
        bad.push(`${file} imports ${target}, outside the core`);
      else visit(target);
    }
  };
  visit(entry);
  return bad;
}

test('nothing reachable from src/core.ts imports node:, a package, or data/, io/, report/, cli/, run/, features/', () => {
  assert.deepEqual(coreViolations('src/core.ts'), []);
});

test('the import check catches a node: import, a data/ import and a train/ module outside the loop', () => {
  assert.deepEqual(
    importsOf("import { x } from 'node:fs';\nexport * from './a.js';\nimport type { D } from '../data/d.js';"),
    ['node:fs', './a.js', '../data/d.js'],
  );
  // The Node entry reaches all of them: the walk must report them.
  const bad = coreViolations('src/index.ts');
  for (const want of [/imports "node:/, /src\/data\//, /src\/run\//])
    assert.ok(
      bad.some((b) => want.test(b)),
      `expected a violation matching ${want}`,
    );
});

test('convts/core bundles with esbuild for the browser, with no node: import', async () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const entry = join(root, pkg.exports['./core'].default);
  const out = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false });
  assert.deepEqual(out.errors, []);
  const code = out.outputFiles[0].text;
  assert.doesNotMatch(code, /["']node:/);
  // A classic-script bundle has no import.meta: importing must still work (nothing runs on import).
  const iife = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'convts',
    write: false,
    logLevel: 'silent',
  });
  // On stdin: one argument may not pass 128 KiB (Linux's MAX_ARG_STRLEN), which the bundle does.
  const r = spawnSync(process.execPath, ['-'], {
    input: `${iife.outputFiles[0].text}\nconsole.log(typeof convts.buildModel)`,
    encoding: 'utf8',
  });
  assert.equal(r.stdout.trim(), 'function', r.stderr);
  assert.match(code, /useWasmKernels/);
  assert.match(code, /softmaxCrossEntropy/);
});

test('importing convts/core chooses no kernels and loads no binary; convts loads the fastest set lazily', () => {
  const probe = (entry: string, call: boolean) => {
    const code = `const m = await import(${JSON.stringify(join(root, entry))});
      const { createRequire } = await import('node:module');
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.endsWith('.node'));
      const before = loaded();
      const name = ${call} ? m.kernels().name : '';
      console.log(JSON.stringify({ before, name }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  assert.deepEqual(probe('dist/src/core.js', true), { before: false, name: 'reference' });
  const node = probe('dist/src/index.js', true);
  assert.equal(node.before, false, 'import "convts" must not load the native addon by itself');
  assert.notEqual(node.name, '', 'convts picks a kernel set on the first kernels() call');
});

test('withKernels restores the set that was in use before, not the reference', () => {
  const outer = { ...referenceKernels, name: 'outer' };
  const inner = { ...referenceKernels, name: 'inner' };
  useKernels(outer);
  try {
    assert.equal(
      withKernels(inner, () => kernels().name),
      'inner',
    );
    assert.equal(kernels().name, 'outer');
    assert.throws(() => withKernels(inner, () => assert.fail('boom')));
    assert.equal(kernels().name, 'outer', 'restored after a throw too');
  } finally {
    useKernels(referenceKernels);
  }
});
