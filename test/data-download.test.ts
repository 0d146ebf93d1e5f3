import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  catalog,
  type DataFile,
  type DataSetInfo,
  type DownloadProgress,
  DownloadStopped,
  downloadDataset,
  loadOrDownload,
  MissingDataError,
  readTar,
} from '../src/index.js';
import { idxBytes, tmpDir } from './helpers/data-files.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

// Two small "data set" files, served gzipped (as MNIST mirrors do).
const contentA = idxBytes(
  [3, 28, 28],
  Uint8Array.from({ length: 3 * 784 }, (_, i) => (i * 13) % 256),
);
const contentB = idxBytes([3], [0, 1, 2]);
const files: DataFile[] = [
  { name: 'train-images-idx3-ubyte', md5: md5(contentA), bytes: contentA.length, split: 'train', gz: true },
  { name: 'train-labels-idx1-ubyte', md5: md5(contentB), bytes: contentB.length, split: 'train', gz: true },
];

/** A ustar archive of the given files (what the CIFAR-10 tarball is). */
function tar(entries: Record<string, Uint8Array>): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const [name, data] of Object.entries(entries)) {
    const h = new Uint8Array(512);
    const put = (s: string, at: number) => h.set(new TextEncoder().encode(s), at);
    put(name, 0);
    put('0000644\0', 100);
    put(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    put('        ', 148);
    h[156] = 0x30;
    put('ustar\0', 257);
    put(
      `${h
        .reduce((a, b) => a + b, 0)
        .toString(8)
        .padStart(6, '0')}\0 `,
      148,
    );
    blocks.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  return Buffer.concat(blocks);
}

/** Content by file name, for every file mirror (t10k-* too, so that a whole MNIST-layout set can be served). */
const served = new Map<string, Uint8Array>([
  ['train-images-idx3-ubyte', contentA],
  ['train-labels-idx1-ubyte', contentB],
  ['t10k-images-idx3-ubyte', contentA],
  ['t10k-labels-idx1-ubyte', contentB],
]);

const cifarA = Uint8Array.from({ length: 3073 * 2 }, (_, i) => (i % 3073 === 0 ? 1 : i % 256));
const archive = gzipSync(tar({ 'set/readme.txt': new TextEncoder().encode('hi'), 'set/a.bin': cifarA }));

let server: Server;
let base = '';
const hits: string[] = [];
/** Called when a /stall/ response has sent its first half. */
const stalled: (() => void)[] = [];

before(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    hits.push(url);
    const name = url.split('/').pop()!;
    const content = served.get(name.replace(/\.gz$/, ''));
    const body = url.endsWith('.tar.gz') ? archive : content ? gzipSync(content) : null;
    if (url.startsWith('/forbidden/')) {
      res.writeHead(403).end('no');
    } else if (!body) {
      res.writeHead(404).end();
    } else if (url.startsWith('/corrupt/')) {
      // Valid gzip of the wrong content: only the checksum can tell.
      const wrong = Uint8Array.from(content!);
      wrong[wrong.length - 1] ^= 1;
      res.writeHead(200, { 'content-length': gzipSync(wrong).length }).end(gzipSync(wrong));
    } else if (url.startsWith('/stall/')) {
      // Announce the whole body, send half, then wait for ever.
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, body.length >> 1), () => stalled.shift()?.());
    } else if (url.startsWith('/cut/')) {
      // Announce the whole body, send half, then drop the connection.
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
    } else {
      res.writeHead(200, { 'content-length': body.length }).end(body);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

const info = (...mirrors: string[]): DataSetInfo => ({
  name: 'toy',
  files,
  sources: mirrors.map((m) => ({ kind: 'files', base: `${base}/${m}/` })),
});

/** The cache folder's entries, to check nothing partial or wrong was left behind. */
const listing = (dir: string) => {
  try {
    return readdirSync(join(dir, 'toy')).sort();
  } catch {
    return [];
  }
};

describe('downloader', () => {
  test('a 403 from the first mirror falls through to the next; files are verified, then renamed into place', async () => {
    const dir = tmpDir();
    const progress: DownloadProgress[] = [];
    const logs: string[] = [];
    const r = await downloadDataset(info('forbidden', 'good'), dir, {
      onProgress: (p) => progress.push(p),
      onLog: (l) => logs.push(l),
    });
    assert.deepEqual(listing(dir), ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
    assert.equal(r.downloaded.length, 2);
    assert.ok(
      logs.some((l) => /forbidden\/train-images-idx3-ubyte\.gz: HTTP 403/.test(l)),
      logs.join('\n'),
    );
    const last = progress.filter((p) => p.file === 'train-images-idx3-ubyte.gz').pop()!;
    assert.equal(last.received, last.total);
    assert.deepEqual(readFileSync(join(dir, 'toy', 'train-labels-idx1-ubyte.gz')), gzipSync(contentB));
    // Present files are not fetched again.
    hits.length = 0;
    const again = await downloadDataset(info('good'), dir, { verifyExisting: true });
    assert.equal(again.present.length, 2);
    assert.deepEqual(hits, []);
  });

  test('a checksum mismatch or a connection cut halfway leaves nothing in the cache', async () => {
    for (const mirror of ['corrupt', 'cut']) {
      const dir = tmpDir();
      await assert.rejects(downloadDataset(info(mirror), dir, { idleTimeoutMs: 5000 }), (e: unknown) => {
        assert.ok(e instanceof MissingDataError, String(e));
        assert.match(
          e.message,
          /2 file\(s\) missing:\n {2}train-images-idx3-ubyte\(\.gz\) not found in .*\n {2}train-labels-idx1-ubyte\(\.gz\) not found in/,
        );
        assert.ok(e.message.includes(files[0].md5!), 'lists the checksum');
        assert.match(
          e.message,
          mirror === 'corrupt'
            ? /checksum mismatch for train-images-idx3-ubyte: md5 [0-9a-f]{32}, expected/
            : /train-images-idx3-ubyte\.gz: .*(terminated|closed|socket)/i,
        );
        return true;
      });
      assert.equal(existsSync(join(dir, 'toy')), false, `${mirror}: the folder it made is left`);
    }
    // The folders made on the way to a data dir that did not exist go too; the one that did stays.
    const dir = tmpDir();
    await assert.rejects(downloadDataset(info('forbidden'), join(dir, 'a', 'b')), MissingDataError);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('stopped mid-file (Ctrl-C): DownloadStopped, the partial file and the folders it made are removed', async () => {
    const dir = tmpDir();
    const stop = new AbortController();
    stalled.push(() => setTimeout(() => stop.abort(), 100));
    await assert.rejects(
      downloadDataset(info('stall', 'good'), join(dir, 'a'), { signal: stop.signal }),
      (e: unknown) => e instanceof DownloadStopped && e.kept.length === 0,
    );
    assert.deepEqual(readdirSync(dir), []);
    // Verified files stay: a stop after the first source leaves them, and only them.
    const stop2 = new AbortController();
    stalled.push(() => setTimeout(() => stop2.abort(), 100));
    const mixed: DataSetInfo = { ...info(), sources: [{ kind: 'files', base: `${base}/good/` }] };
    await downloadDataset({ ...mixed, files: [files[1]] }, dir);
    await assert.rejects(
      downloadDataset(info('stall'), dir, { signal: stop2.signal }),
      (e: unknown) => e instanceof DownloadStopped,
    );
    assert.deepEqual(listing(dir), ['train-labels-idx1-ubyte.gz']);
  });

  test("a partial file left by a killed download (its process gone) is removed by the next one; a live one's stays", async () => {
    const dir = tmpDir();
    mkdirSync(join(dir, 'toy'));
    const dead = join(dir, 'toy', `.train-images-idx3-ubyte.gz.part-${2 ** 22 + 1}`); // above Linux's largest pid
    const live = join(dir, 'toy', `.train-images-idx3-ubyte.gz.part-${process.ppid}`);
    writeFileSync(dead, 'half');
    writeFileSync(live, 'half');
    await downloadDataset(info('good'), dir);
    assert.deepEqual(listing(dir), [basename(live), 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
  });

  test('a good cached file is never replaced by a bad download; a bad cached one is replaced by a verified one', async () => {
    const dir = tmpDir();
    await downloadDataset(info('good'), dir);
    const good = readFileSync(join(dir, 'toy', 'train-images-idx3-ubyte.gz'));
    await downloadDataset(info('corrupt', 'cut'), dir, { verifyExisting: true });
    assert.deepEqual(readFileSync(join(dir, 'toy', 'train-images-idx3-ubyte.gz')), good);
    // Damage the cache: verification notices, a bad mirror cannot fix it (and the file stays as it was), a good one does.
    writeFileSync(join(dir, 'toy', 'train-images-idx3-ubyte.gz'), gzipSync(contentB));
    await assert.rejects(downloadDataset(info('corrupt'), dir, { verifyExisting: true }), /checksum mismatch/);
    assert.deepEqual(listing(dir), ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
    await downloadDataset(info('cut', 'good'), dir, { verifyExisting: true, idleTimeoutMs: 5000 });
    assert.deepEqual(readFileSync(join(dir, 'toy', 'train-images-idx3-ubyte.gz')), good);
  });

  test('a .tar.gz source: members are verified and written one by one, the archive is not kept', async () => {
    const dir = tmpDir();
    const want: DataFile[] = [
      { name: 'a.bin', md5: md5(cifarA), bytes: cifarA.length, split: 'train', gz: false },
      { name: 'b.bin', md5: md5(cifarA), bytes: cifarA.length, split: 'test', gz: false },
    ];
    const tarInfo: DataSetInfo = {
      name: 'toy',
      files: want,
      sources: [{ kind: 'tar.gz', url: `${base}/good/set.tar.gz`, prefix: 'set/' }],
    };
    await assert.rejects(
      downloadDataset(tarInfo, dir),
      (e: unknown) =>
        e instanceof MissingDataError &&
        /b\.bin\(\.gz\) not found/.test(e.message) &&
        /set\/b\.bin is not in the archive/.test(e.message),
    );
    assert.deepEqual(listing(dir), ['a.bin']);
    assert.deepEqual(readFileSync(join(dir, 'toy', 'a.bin')), Buffer.from(cifarA));
    assert.throws(() => readTar(new Uint8Array(512).fill(7), 'x.tar'), /x\.tar: tar header at byte 0 has checksum/);
  });

  test('loadOrDownload fetches missing files, then reads them; offline, it lists what is missing', async () => {
    const dir = tmpDir();
    // The MNIST catalog entry with this server as its only mirror and the toy files' checksums.
    const toyMnist: DataSetInfo = {
      ...catalog.mnist,
      files: catalog.mnist.files.map((f) => ({
        ...f,
        md5: md5(served.get(f.name)!),
        bytes: served.get(f.name)!.length,
      })),
      sources: [
        { kind: 'files', base: `${base}/forbidden/` },
        { kind: 'files', base: `${base}/good/` },
      ],
    };
    await assert.rejects(
      loadOrDownload('mnist', dir, {}, false),
      (e: unknown) => e instanceof MissingDataError && e.missing.length === 4 && e.reasons.length === 0,
    );
    const unreachable: DataSetInfo = { ...toyMnist, sources: [{ kind: 'files', base: 'http://127.0.0.1:1/' }] };
    await assert.rejects(
      loadOrDownload('mnist', dir, {}, { info: unreachable }),
      (e: unknown) =>
        e instanceof MissingDataError &&
        e.reasons.length === 4 &&
        /127\.0\.0\.1:1\/t10k-labels-idx1-ubyte\.gz: fetch failed/.test(e.message),
    );
    assert.equal(existsSync(join(dir, 'mnist')), false, 'a failed download left its folder');
    const data = await loadOrDownload('mnist', dir, { val: 1 }, { info: toyMnist });
    assert.equal(data.train.length, 2);
    assert.deepEqual([...data.test.labels], [2]);
    assert.deepEqual(readdirSync(join(dir, 'mnist')).sort(), [
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
    ]);
  });
});
