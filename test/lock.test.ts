import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { lockDir, lockFile } from '../src/files/lock.js';
import { ConfigError } from '../src/index.js';
import { convts } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { tempDir } from './helpers/tmp.js';

const sleeper = spawn('sleep', ['600']);
after(() => sleeper.kill());

test('a folder locked by a live process is refused with its pid; a dead one is taken over', () => {
  const dir = tempDir();
  writeFileSync(join(dir, lockFile), `${sleeper.pid}\n`);
  assert.throws(
    () => lockDir(dir),
    (e: unknown) => e instanceof ConfigError && e.message.includes(`being written by convts process ${sleeper.pid}`),
  );
  const dead = spawnSync('true').pid;
  writeFileSync(join(dir, lockFile), `${dead}\n`);
  const release = lockDir(dir);
  assert.equal(readFileSync(join(dir, lockFile), 'utf8').trim(), String(process.pid));
  release();
  assert.equal(existsSync(join(dir, lockFile)), false);
});

test('convts train refuses an --out that another convts is writing, and leaves its lock alone', async () => {
  const data = tempDir();
  writeMnistDir(data, 16, 8);
  const out = join(data, 'run');
  const r1 = await convts(
    'train',
    '--model',
    'seed-mnist',
    '--dataset',
    'mnist',
    '--data-dir',
    data,
    '--epochs',
    '1',
    '--out',
    out,
  );
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(existsSync(join(out, lockFile)), false, 'the lock is released at exit');
  writeFileSync(join(out, lockFile), `${sleeper.pid}\n`);
  const r2 = await convts(
    'train',
    '--model',
    'seed-mnist',
    '--dataset',
    'mnist',
    '--data-dir',
    data,
    '--epochs',
    '1',
    '--out',
    out,
  );
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, new RegExp(`being written by convts process ${sleeper.pid}`));
  assert.equal(readFileSync(join(out, lockFile), 'utf8').trim(), String(sleeper.pid));
});

test('convts features refuses a feature file or a pictures folder that another convts is writing', async () => {
  const data = tempDir();
  writeMnistDir(data, 16, 8);
  const out = join(data, 'f.feat');
  const pictures = join(data, 'pictures');
  const features = (...more: string[]) =>
    convts('features', '--bank', 'lm', '--dataset', 'mnist', '--data-dir', data, '--out', out, ...more);
  writeFileSync(`${out}.lock`, `${sleeper.pid}\n`);
  const r1 = await features();
  assert.equal(r1.code, 1, r1.stderr);
  assert.match(r1.stderr, new RegExp(`^convts: ${out} is being written by convts process ${sleeper.pid}`, 'm'));
  assert.equal(existsSync(out), false);
  const dead = spawnSync('true').pid;
  writeFileSync(`${out}.lock`, `${dead}\n`);
  const r2 = await features();
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(existsSync(`${out}.lock`), false, 'the lock is released at exit');
  lockDir(pictures);
  const r3 = await features('--pictures', pictures, '--force');
  assert.equal(r3.code, 1, r3.stderr);
  assert.match(r3.stderr, new RegExp(`${pictures} is being written by convts process ${process.pid}`));
});

test('convts sweep refuses a sweep folder that another convts is writing', async () => {
  const data = tempDir();
  writeMnistDir(data, 16, 8);
  const out = join(data, 'sweep');
  mkdirSync(out);
  writeFileSync(join(out, lockFile), `${sleeper.pid}\n`);
  const r = await convts('sweep', '--dataset', 'mnist', '--data-dir', data, '--grid', 'lr=0.1', '--out', out);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^convts: ${out} is being written by convts process ${sleeper.pid}`, 'm'));
  assert.equal(existsSync(join(out, 'sweep.json')), false, 'nothing written');
});
