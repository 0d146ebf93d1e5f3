import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { byteBar } from '../src/cli/download.js';
import { readRunConfig, runDataset } from '../src/run/index.js';
import { tmpDir, writeCifarSet } from './helpers/data-files.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = join(repo, 'dist', 'src', 'cli', 'main.js');

/** Runs the CLI without blocking this process (a test server may be answering it); offline unless `online`. */
function run(args: string[], online = false): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const env = { ...process.env, CONVTS_OFFLINE: online ? '' : '1' };
    execFile(process.execPath, [main, ...args], { env }, (e, stdout, stderr) =>
      done({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
    );
  });
}
const convts = (...args: string[]) => run(args);

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

describe('data flags of convts train', () => {
  test('cifar-10 with --val holds out the last images, augments, and records it', async () => {
    const root = tmpDir();
    writeCifarSet(root, 5, 4, 0);
    const out = join(root, 'run');
    const r = await convts(
      'train',
      '--model',
      'seed-cifar',
      '--dataset',
      'cifar-10',
      '--data-dir',
      root,
      '--val',
      '4',
      '--train-limit',
      '10',
      '--subset',
      'stratified',
      '--augment',
      'default',
      '--epochs',
      '1',
      '--batch-size',
      '4',
      '--out',
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    const s = readJson(join(out, 'summary.json'));
    assert.equal(s.trainSize, 10);
    assert.equal(s.testSize, 4);
    assert.equal(s.evaluatedOn, 'validation');
    assert.deepEqual(s.classNames.slice(0, 2), ['plane', 'car']);
    const c = readJson(join(out, 'config.json'));
    assert.deepEqual(c.augment, { shift: 4, flip: true });
    assert.equal(c.val, 4);
    const missing = await convts(
      'train',
      '--model',
      'seed-cifar',
      '--dataset',
      'cifar-10',
      '--data-dir',
      root,
      '--out',
      join(root, 'never'),
    );
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /test_batch\.bin\(\.gz\) not found in .*cifar-10 — md5 803d5f7f4d78ea53de84dbe85f74fb6d[\s\S]*--val 10000/,
    );
    assert.ok(!existsSync(join(root, 'never')));
  });

  test('folder:DIR with resize, grey, flatten trains the dense task1-fc model', async () => {
    const root = tmpDir();
    for (const [c, v] of [
      ['dark', 30],
      ['light', 220],
    ] as const) {
      mkdirSync(join(root, 'imgs', c), { recursive: true });
      for (let i = 0; i < 6; i++) {
        const p = new PNG({ width: 40, height: 40 });
        p.data.fill(v + i);
        writeFileSync(join(root, 'imgs', c, `${i}.png`), PNG.sync.write(p));
      }
    }
    const out = join(root, 'run');
    const r = await convts(
      'train',
      '--model',
      'task1-fc',
      '--dataset',
      `folder:${join(root, 'imgs')}`,
      '--image-size',
      '36',
      '--channels',
      '1',
      '--flatten',
      '--val',
      '20%',
      '--epochs',
      '2',
      '--batch-size',
      '2',
      '--normalize',
      'unit',
      '--out',
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    const s = readJson(join(out, 'summary.json'));
    assert.deepEqual(s.classNames, ['dark', 'light']);
    // 20 %: one of each class's six pictures held out.
    assert.equal(s.trainSize, 10);
    assert.equal(s.testSize, 2);
    const held = await convts('eval', out, '--split', 'validation', '--json');
    assert.equal(held.code, 0, held.stderr);
    const onHeld = JSON.parse(held.stdout) as { images: number; accuracy: number; loss: number };
    assert.deepEqual([onHeld.images, onHeld.accuracy], [2, s.testAccuracy]);
    assert.throws(
      () => runDataset({ ...readRunConfig(out), val: null }, { split: 'validation' }),
      /held out no validation images \(it was trained without --val\) — give --split test or train/,
    );
    const bad = await convts('train', '--dataset', `folder:${join(root, 'nope')}`, '--out', join(root, 'never'));
    assert.match(bad.stderr, /nope: not a folder — expected .*<class name>\/<images>/);
    const noVal = await convts(
      'train',
      '--model',
      'task1-fc',
      '--dataset',
      `folder:${join(root, 'imgs')}`,
      '--image-size',
      '36',
      '--flatten',
      '--out',
      join(root, 'never'),
    );
    assert.match(noVal.stderr, /no test split — hold out validation images with --val N/);
  });
});

describe('convts download', () => {
  test('the progress bar shows bytes, rate and ETA', () => {
    const line = byteBar({ file: 'a.gz', received: 5e6, total: 20e6, seconds: 5 });
    assert.match(line, /^a\.gz █{6}░{18} 5\.0\/20\.0 MB {2}1\.0 MB\/s {2}ETA 0:15$/);
    assert.equal(byteBar({ file: 'b', received: 1e6, total: null, seconds: 2 }), 'b 1.0 MB  0.5 MB/s');
  });

  test('refuses unknown names; --help', async () => {
    const r = await convts('download', 'svhn', '--data-dir', tmpDir());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown data set "svhn" — use one of mnist, fashion-mnist, cifar-10/);
    assert.match((await convts('download', '--help')).stdout, /^Usage: convts download/m);
    assert.match((await convts('download')).stderr, /name a data set/);
  });

  test('CONVTS_OFFLINE=1: refused at once, saying how to proceed; nothing is made', async () => {
    const dir = join(tmpDir(), 'data');
    const r = await convts('download', 'mnist', '--data-dir', dir, '--mirror', 'http://127.0.0.1:1/');
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^convts: download: CONVTS_OFFLINE=1 forbids downloading — run "CONVTS_OFFLINE= convts download mnist --data-dir .*" where there is network, or put the files in .*data\/mnist\/ by hand\n$/,
    );
    assert.equal(existsSync(dir), false);
  });

  // A server that announces a large file, sends a little and then stalls: the command is stopped mid-file.
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)
    test(`${signal} in the middle of a file leaves no partial file and no folder`, async () => {
      let started = () => {};
      const midFile = new Promise<void>((r) => {
        started = r;
      });
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-length': 10_000_000 });
        res.write(Buffer.alloc(100_000, 7), () => started());
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const dir = join(tmpDir(), 'data');
        const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
        const child = execFile(process.execPath, [main, 'download', 'mnist', '--data-dir', dir, '--mirror', mirror], {
          env: { ...process.env, CONVTS_OFFLINE: '' },
        });
        let stderr = '';
        child.stderr?.on('data', (b) => {
          stderr += b;
        });
        const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
        await midFile;
        await new Promise((r) => setTimeout(r, 300)); // the first bytes are in the .part file
        assert.ok(existsSync(join(dir, 'mnist')), 'the download had started');
        child.kill(signal);
        assert.equal(await exited, code, stderr);
        assert.match(stderr, /download stopped; nothing partial left — run the same command again/);
        assert.equal(existsSync(dir), false, `left: ${existsSync(dir) ? readdirSync(dir, { recursive: true }) : ''}`);
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });

  // End to end with the real files, when this machine has them: served from 127.0.0.1 behind a
  // mirror that answers 403, downloaded, verified against the built-in table, renamed into place.
  const shared = process.env.CONVTS_TEST_DATA_DIR ?? resolve(repo, '..', 'shared', 'datasets');
  test('downloads MNIST from --mirror after a 403 and verifies it', {
    skip: existsSync(join(shared, 'mnist')) ? false : `${shared}/mnist is absent`,
  }, async () => {
    const server = createServer((req, res) => {
      const name = (req.url ?? '').split('/').pop()!;
      const path = join(shared, 'mnist', name);
      if (req.url?.startsWith('/no/') || !existsSync(path)) res.writeHead(403).end();
      else res.writeHead(200).end(readFileSync(path));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const dir = tmpDir();
      const r = await run(
        ['download', 'mnist', '--data-dir', dir, '--mirror', `${base}/no`, '--mirror', `${base}/ok/`],
        true,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /\/no\/train-images-idx3-ubyte\.gz: HTTP 403/);
      assert.match(r.stderr, /mnist: 4 file\(s\) downloaded, 0 already present/);
      assert.deepEqual(readdirSync(join(dir, 'mnist')).sort(), [
        't10k-images-idx3-ubyte.gz',
        't10k-labels-idx1-ubyte.gz',
        'train-images-idx3-ubyte.gz',
        'train-labels-idx1-ubyte.gz',
      ]);
      const again = await run(['download', 'mnist', '--data-dir', dir], true);
      assert.match(again.stderr, /mnist: 0 file\(s\) downloaded, 4 already present/);
    } finally {
      server.close();
    }
  });
});
