import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'convts-features-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An uncompressed IDX file of bytes with the given dimensions. */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const b = new Uint8Array(4 + 4 * dims.length + data.length);
  const dv = new DataView(b.buffer);
  b.set([0, 0, 8, dims.length]);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d));
  b.set(data, 4 + 4 * dims.length);
  return b;
}

test('convts features: extracts once, then reuses the file', () => {
  mkdirSync(join(dir, 'mnist'));
  for (const [split, n] of [['train', 12], ['t10k', 5]] as const) {
    const px = Uint8Array.from({ length: n * 784 }, (_, i) => (i * 37) % 251);
    writeFileSync(join(dir, 'mnist', `${split}-images-idx3-ubyte`), idx([n, 28, 28], px));
    writeFileSync(join(dir, 'mnist', `${split}-labels-idx1-ubyte`), idx([n], Uint8Array.from({ length: n }, (_, i) => i % 10)));
  }
  const run = () => JSON.parse(execFileSync(process.execPath, [cli, 'features', '--bank', 'lm', '--dataset', 'mnist',
    '--data-dir', dir, '--out', join(dir, 'f.feat'), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  const first = run();
  assert.deepEqual([first.hit, first.train, first.test, first.dim], [false, 12, 5, 1296]);
  const second = run();
  assert.deepEqual([second.hit, second.key], [true, first.key]);
});
