import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { availableBackends } from '../src/kernels/node-loader.js';

// The finite-difference checks and the PyTorch fixtures run on the default (fastest) kernels in
// the rest of the suite; here they run again on every other kernel set built on this machine.
const files = [
  'gradcheck.test.js',
  'gradcheck-model.test.js',
  'gradcheck-modern.test.js',
  'torch-fixtures.test.js',
  'torch-fixtures-modern.test.js',
].map((f) => fileURLToPath(new URL(f, import.meta.url)));

for (const b of availableBackends()) {
  test(`gradient checks and PyTorch fixtures pass on ${b.name} ×${b.threads}`, () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CONVTS_BACKEND: b.name, CONVTS_THREADS: String(b.threads) };
    delete env.NODE_TEST_CONTEXT; // else the child runner reports to this one instead of printing
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', ...files], { env, encoding: 'utf8' });
    const failed = r.stdout.split('\n').filter((l) => /^\s*not ok/.test(l));
    assert.equal(r.status, 0, `${b.name} ×${b.threads}: ${failed.join('; ')}\n${r.stdout.slice(-2000)}`);
    assert.match(r.stdout, /^# pass [1-9]\d*$/m);
  });
}
