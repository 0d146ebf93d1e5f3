import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ensureDir, writeFileAtomic } from '../src/files/atomic.js';
import { fileError } from '../src/files/checked.js';
import { FileError } from '../src/index.js';
import { loadModel } from '../src/run/model-file.js';
import { convts } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { tempDir } from './helpers/tmp.js';

/** One line on stderr, naming `path`, exit 1, no stack. */
function cleanFailure(r: { code: number; stderr: string }, path: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at |node:internal|Error:/, r.stderr);
  assert.match(r.stderr, path);
}

describe('output errors', () => {
  test('the atomic write never loops: /proc, a file on the path, a long name, a full disk', () => {
    const dir = tempDir();
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    assert.throws(
      () => ensureDir('/proc/convts-nowhere/run'),
      (e: unknown) => e instanceof FileError,
    );
    assert.throws(
      () => writeFileAtomic(join(file, 'sub', 'a.json'), '{}'),
      (e: unknown) => e instanceof FileError && /is a file, not a directory \(ENOTDIR\)/.test(e.message),
    );
    assert.throws(
      () => writeFileAtomic(join(dir, 'n'.repeat(300), 'a.json'), '{}'),
      (e: unknown) => e instanceof FileError && /the name is too long \(ENAMETOOLONG\)/.test(e.message),
    );
    const full = () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    };
    assert.throws(
      () => writeFileAtomic(join(dir, 'out', 'model.safetensors'), 'data', full),
      (e: unknown) =>
        e instanceof FileError &&
        e.message ===
          `cannot write ${join(dir, 'out', 'model.safetensors')}: no space left on the device (ENOSPC) — free some space or choose another disk`,
    );
    assert.deepEqual(readdirSync(join(dir, 'out')), [], 'a temporary file was left behind');
  });

  test('under /proc and /sys the advice is to choose a disk, not about links, permissions or space', () => {
    const kernelFs = (dir: string, code: RegExp) =>
      assert.throws(
        () => ensureDir(dir),
        (e: unknown) =>
          e instanceof FileError &&
          code.test(e.message) &&
          /is the kernel's view of \w+, not a disk: no file can be made or kept there — choose a path on a disk$/.test(
            e.message,
          ) &&
          !/symbolic link|system folders/.test(e.message),
      );
    kernelFs('/proc/convts-nowhere/run', /^cannot create folder \/proc\/convts-nowhere: not found \(ENOENT\)/);
    kernelFs('/proc/self/convts-nowhere', /^cannot create folder \/proc\/self\/convts-nowhere: .*\/proc is/);
    if (process.getuid?.() === 0)
      kernelFs('/sys/kernel/convts-nowhere', /\(EPERM\) — \/sys is the kernel's view of devices/);
    const denied = Object.assign(new Error('EACCES'), { code: 'EACCES' });
    const other = fileError(denied, '/procedures/x', 'cannot write') as FileError;
    assert.match(other.message, /permission denied \(EACCES\) — choose a path you may read and write/);
  });

  describe('convts train and features', () => {
    const data = tempDir();
    before(() => writeMnistDir(data, 24, 12));
    const train = (out: string) =>
      convts('train', '--model', 'seed-mnist', '--dataset', 'mnist', '--data-dir', data, '--epochs', '1', '--out', out);

    test('--out under /proc, under a file, or with a 300-character name: one line, exit 1', async () => {
      cleanFailure(
        await train('/proc/convts-test/run'),
        /convts: cannot create folder \/proc\/convts-test: .* — \/proc is the kernel's view of processes, not a disk/,
      );
      const file = join(data, 'a-file');
      writeFileSync(file, 'x');
      cleanFailure(await train(join(file, 'run')), /a-file.* \(ENOTDIR\)/);
      cleanFailure(await train(join(data, 'r'.repeat(300))), /the name is too long \(ENAMETOOLONG\)/);
      const feats = await convts(
        'features',
        '--bank',
        'lm',
        '--dataset',
        'mnist',
        '--data-dir',
        data,
        '--out',
        join(file, 'f.feat'),
      );
      cleanFailure(feats, /ENOTDIR/);
    });
  });
});

describe('reads of a directory or a dangling link where a file is expected', () => {
  test('model.safetensors, model.json and a CIFAR batch name the path', async () => {
    const dir = tempDir();
    const run = join(dir, 'run');
    mkdirSync(join(run, 'model.json'), { recursive: true });
    assert.throws(
      () => loadModel(run),
      (e: unknown) => e instanceof FileError && /model\.json: is a directory/.test(e.message),
    );
    const cifar = join(dir, 'cifar-10');
    mkdirSync(cifar);
    for (const b of [1, 2, 3, 4, 5]) mkdirSync(join(cifar, `data_batch_${b}.bin`));
    symlinkSync(join(dir, 'gone'), join(cifar, 'batches.meta.txt'));
    mkdirSync(join(cifar, 'test_batch.bin'));
    const r = await convts(
      'train',
      '--model',
      'seed-cifar',
      '--dataset',
      'cifar-10',
      '--data-dir',
      dir,
      '--out',
      join(dir, 'o'),
    );
    cleanFailure(r, /data_batch_1\.bin: is a directory \(EISDIR\)/);
    assert.equal(existsSync(join(dir, 'o', 'model.safetensors')), false);
  });
});
