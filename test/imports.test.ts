// Imports go one way, from the command line down to the core: a folder may import its own files,
// a folder of a lower layer, or (within the core) another core folder; never one above it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importsOf } from './helpers/imports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Each folder of src/ (or top-level file) and its layer, lowest first. */
const layers: Record<string, number> = {
  // The core (convts/core, browser-safe): tensors, kernels, layers, models and the training loop.
  'errors.ts': 0,
  'core.ts': 0,
  tensor: 0,
  kernels: 0,
  layers: 0,
  losses: 0,
  init: 0,
  optim: 0,
  model: 0,
  train: 0,
  files: 1,
  data: 2,
  features: 3,
  run: 4,
  report: 5,
  onnx: 5,
  queue: 5,
  serve: 5,
  cli: 6,
  'index.ts': 7,
};

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Whether folder `from` may not import folder `to`. */
function isWrongWay(from: string, to: string): boolean {
  const [a, b] = [layers[from], layers[to]];
  assert.ok(a !== undefined && b !== undefined, `src/${a === undefined ? from : to} has no layer in this test`);
  return from !== to && !(a === 0 && b === 0) && b >= a;
}

/** The wrong-way imports of the files under src/, as "from → to" lines. */
function wrongWay(): string[] {
  const bad: string[] = [];
  for (const file of sources('src')) {
    const from = file.split('/')[1];
    for (const spec of importsOf(readFileSync(join(root, file), 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = relative(root, join(root, dirname(file), spec)).replace(/\.js$/, '.ts');
      if (!target.startsWith('src/')) continue; // bench/ harness, package.json
      if (isWrongWay(from, target.split('/')[1])) bad.push(`${file} → ${target}`);
    }
  }
  return bad;
}

test('src/ imports one way: core ← files ← data ← features ← run ← report, onnx, queue, serve ← cli', () => {
  assert.deepEqual(wrongWay(), []);
});

test('the rule refuses upward and sideways imports, and allows downward and core ones', () => {
  assert.deepEqual(
    [
      ['data', 'run'],
      ['train', 'data'],
      ['report', 'serve'],
      ['run', 'data'],
      ['model', 'train'],
      ['cli', 'core.ts'],
    ].map(([from, to]) => isWrongWay(from, to)),
    [true, true, true, false, false, false],
  );
});
