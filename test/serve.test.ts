import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import { lmBank } from '../src/index.js';
import type {
  BankResponse,
  FeatureMapsResponse,
  FilterSet,
  ImagesResponse,
  MetricsResponse,
  RunDetail,
  RunsResponse,
} from '../src/serve/api-types.js';
import type { DataListResponse } from '../src/serve/data-files.js';
import { makeRoots, runRow } from '../src/serve/runs.js';
import { makeServer } from '../src/serve/server.js';
import { convts } from './helpers/cli.js';
import { mnistFiles, writeMnistDir } from './helpers/mnist.js';
import { unpackedValues } from './helpers/serve.js';
import { tempDir } from './helpers/tmp.js';

// The dashboard's server on tiny runs: listing, following metrics, damaged files, the views that
// run the model, uploads, and refusing every path that leads outside the served folder.

const epoch = (e: number, acc: number) => ({
  epoch: e,
  lr: 0.01,
  trainLoss: 1 / e,
  trainAccuracy: acc - 0.05,
  testLoss: 1.1 / e,
  testAccuracy: acc,
  seconds: 1,
  evalSeconds: 0.1,
});
const step = (s: number, e: number) => ({
  kind: 'step',
  step: s,
  epoch: e,
  loss: 2 / s,
  accuracy: 0.5,
  lr: 0.01,
  imagesPerSecond: 1000,
});
const lines = (rs: object[]) => rs.map((r) => `${JSON.stringify(r)}\n`).join('');

/** A run directory written by hand: config, metrics, and a summary unless it is still going. */
function fakeRun(dir: string, o: { summary?: object | string; metrics: object[] | string }): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ model: 'seed-mnist', dataset: 'mnist', lr: 0.01, epochs: 3 }),
  );
  writeFileSync(join(dir, 'metrics.jsonl'), typeof o.metrics === 'string' ? o.metrics : lines(o.metrics));
  if (o.summary !== undefined)
    writeFileSync(join(dir, 'summary.json'), typeof o.summary === 'string' ? o.summary : JSON.stringify(o.summary));
}

describe('convts serve: the server', () => {
  const base = tempDir('convts-serve-');
  const runs = join(base, 'runs');
  const outside = join(base, 'outside');
  let url = '';
  let close = () => {};
  // The path as given, byte for byte: fetch() would resolve "..", "%2e%2e" and "//" before sending.
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) =>
      httpGet({ host: '127.0.0.1', port: new URL(url).port, path }, (r) => {
        let body = '';
        r.setEncoding('utf8')
          .on('data', (c) => {
            body += c;
          })
          .on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      }).on('error', reject),
    );
  const json = async <T>(path: string): Promise<T> => {
    const r = await get(path);
    assert.equal(r.status, 200, `${path}: ${r.body}`);
    return JSON.parse(r.body) as T;
  };

  const data = join(base, 'data');
  before(async () => {
    writeMnistDir(data, 48, 40);
    mkdirSync(join(data, 'cifar-10'));
    writeFileSync(join(data, 'cifar-10', 'batches.meta.txt'), 'airplane\nautomobile\n');
    // The partial test batch some mirrors carry stands in for test_batch.bin.
    writeFileSync(join(data, 'cifar-10', 'test_batch_first1000.bin.gz'), 'partial');
    writeFileSync(join(data, 'secret.txt'), 'secret');
    const r = await convts(
      'train',
      ...['--dataset', 'mnist', '--data-dir', data, '--offline', '--epochs', '2', '--batch-size', '8'],
      ...['--out', join(runs, 'real')],
    );
    assert.equal(r.code, 0, r.stderr);
    fakeRun(join(runs, 'old'), {
      summary: { status: 'completed', testAccuracy: 0.8 },
      metrics: [epoch(1, 0.7), epoch(2, 0.8)],
    });
    fakeRun(join(runs, 'group', 'live'), { metrics: [step(1, 1), step(2, 1)] });
    fakeRun(join(runs, 'bad-summary'), { summary: '{"status": "compl', metrics: [epoch(1, 0.5)] });
    fakeRun(join(runs, 'bad-line'), {
      summary: { status: 'completed' },
      metrics: `${JSON.stringify(epoch(1, 0.5))}\n{oops\n`,
    });
    fakeRun(join(runs, 'cut-model'), { summary: { status: 'completed' }, metrics: [epoch(1, 0.5)] });
    writeFileSync(join(runs, 'cut-model', 'model.json'), readFileSync(join(runs, 'real', 'model.json')));
    writeFileSync(join(runs, 'cut-model', 'model.safetensors'), readFileSync(join(runs, 'real', 'model.safetensors')));
    truncateSync(join(runs, 'cut-model', 'model.safetensors'), 300);
    // Task 1: a feature file of the built-in bank, and a run trained on it
    const feat = join(base, 'lm.feat');
    const f = await convts('features', '--dataset', 'mnist', '--data-dir', data, '--out', feat);
    assert.equal(f.code, 0, f.stderr);
    const t1 = await convts(
      'train',
      '--model',
      'task1-fc',
      '--features',
      feat,
      '--epochs',
      '1',
      '--out',
      join(runs, 't1'),
    );
    assert.equal(t1.code, 0, t1.stderr);
    const sweep = join(runs, 'sweep');
    for (const t of ['lr-0.01_batch-size-8', 'lr-0.1_batch-size-8'])
      fakeRun(join(sweep, t), { summary: { status: 'completed' }, metrics: [epoch(1, 0.5)] });
    writeFileSync(
      join(sweep, 'sweep.json'),
      JSON.stringify({
        grid: { lr: ['0.01', '0.1'], 'batch-size': ['8'] },
        trials: ['lr-0.01_batch-size-8', 'lr-0.1_batch-size-8'],
      }),
    );
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    symlinkSync(outside, join(runs, 'link-out'));
    symlinkSync(join(outside, 'secret.txt'), join(runs, 'old', 'secret.txt'));
    const server = makeServer(makeRoots([runs]), { dataDir: `${join(base, 'nothing-here')}:${data}` });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  after(() => close());

  test('lists every run under the folder with its status; damaged ones say why', async () => {
    const r = await json<RunsResponse>('/api/runs');
    const by = Object.fromEntries(r.runs.map((x) => [x.id, x]));
    assert.deepEqual(Object.keys(by).sort(), [
      'runs/bad-line',
      'runs/bad-summary',
      'runs/cut-model',
      'runs/group/live',
      'runs/old',
      'runs/real',
      'runs/sweep/lr-0.01_batch-size-8',
      'runs/sweep/lr-0.1_batch-size-8',
      'runs/t1',
    ]);
    // a sweep: its grid and each trial's values as numbers, its trials knowing their sweep
    assert.deepEqual(r.sweeps, [
      {
        id: 'runs/sweep',
        grid: { lr: [0.01, 0.1], 'batch-size': [8] },
        trials: [
          {
            id: 'runs/sweep/lr-0.01_batch-size-8',
            name: 'lr-0.01_batch-size-8',
            params: { lr: 0.01, 'batch-size': 8 },
          },
          { id: 'runs/sweep/lr-0.1_batch-size-8', name: 'lr-0.1_batch-size-8', params: { lr: 0.1, 'batch-size': 8 } },
        ],
      },
    ]);
    assert.equal(by['runs/sweep/lr-0.1_batch-size-8'].sweep, 'runs/sweep');
    assert.equal(by['runs/real'].status, 'completed');
    assert.equal(by['runs/real'].epochs, 2);
    assert.equal(by['runs/real'].hyper.batchSize, 8);
    assert.equal(by['runs/old'].bestAccuracy, 0.8);
    assert.equal(by['runs/group/live'].status, 'running');
    assert.equal(by['runs/bad-summary'].status, 'damaged');
    assert.match(by['runs/bad-summary'].damaged!, /^summary\.json: not valid JSON/);
    assert.match(by['runs/bad-line'].damaged!, /^metrics\.jsonl, line 2: not a metrics record/);
    assert.match(by['runs/cut-model'].damaged!, /^model\.safetensors: .*300 bytes/);
    // the damaged runs' pages still answer, and say why
    const d = await json<RunDetail>('/api/run?id=runs/cut-model');
    assert.equal(d.row.status, 'damaged');
    assert.equal(d.canCompute.model, false);
  });

  test('metrics are followed from an offset: only the new records, a half-written line held back', async () => {
    const id = 'runs/group/live';
    const first = await json<MetricsResponse>(`/api/metrics?id=${id}`);
    assert.deepEqual(
      first.records.map((r) => r.kind === 'step' && r.step),
      [1, 2],
    );
    const path = join(runs, 'group', 'live', 'metrics.jsonl');
    appendFileSync(path, `${JSON.stringify(step(3, 1))}\n{"kind":"step","st`);
    const next = await json<MetricsResponse>(`/api/metrics?id=${id}&from=${first.next}&line=2`);
    assert.deepEqual(
      next.records.map((r) => r.kind === 'step' && r.step),
      [3],
    );
    assert.equal(next.damaged, null);
    appendFileSync(path, `ep":4,"epoch":1,"loss":1,"accuracy":0.5,"lr":0.01,"imagesPerSecond":9}\n`);
    const last = await json<MetricsResponse>(`/api/metrics?id=${id}&from=${next.next}&line=3`);
    assert.deepEqual(
      last.records.map((r) => r.kind === 'step' && r.step),
      [4],
    );
  });

  test('the model views: filters, feature maps, a confusion cell’s images, mistakes', async () => {
    const id = 'runs/real';
    const summary = JSON.parse(readFileSync(join(runs, 'real', 'summary.json'), 'utf8'));
    const filters = await json<FilterSet[]>(`/api/filters?id=${id}`);
    assert.deepEqual(
      filters.map((f) => [f.name, f.shape]),
      [
        ['conv1', [8, 1, 5, 5]],
        ['conv2', [64, 1, 5, 5]],
      ],
    );
    const maps = await json<FeatureMapsResponse>(`/api/maps?id=${id}&index=3`);
    assert.match(maps.title, /^test image 3/);
    assert.deepEqual(maps.input.shape, [1, 1, 28, 28]);
    assert.deepEqual(
      maps.layers.map((l) => [l.name, l.shape]),
      [
        ['conv1', [8, 1, 24, 24]],
        ['conv2', [8, 1, 20, 20]],
        ['pool1', [8, 1, 10, 10]],
      ],
    );
    assert.ok(Math.abs(maps.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-3);
    const cm: number[][] = summary.confusionMatrix;
    const [t, p] = [0, 1, 2, 3].flatMap((a) => [0, 1, 2, 3].map((b) => [a, b])).find(([a, b]) => cm[a][b] > 0)!;
    const cell = await json<ImagesResponse>(`/api/cell?id=${id}&label=${t}&predicted=${p}`);
    assert.equal(cell.total, cm[t][p]);
    for (const im of cell.images) assert.deepEqual([im.label, im.predicted], [t, p]);
    const wrong = await json<ImagesResponse>(`/api/mistakes?id=${id}`);
    assert.equal(wrong.total, cm.flat().reduce((a, b) => a + b, 0) - cm.reduce((s, row, c) => s + row[c], 0));
    const out = await get(`/api/maps?id=${id}&index=99999`);
    assert.equal(out.status, 422);
    assert.match(out.body, /out of range: the test set has 40 images/);
  });

  test('a run records how it ran (command, version, kernels, threads) and its training set size from the start', async () => {
    const d = await json<RunDetail>('/api/run?id=runs/real');
    const env = d.config?.environment as Record<string, unknown>;
    assert.match(String(env.command), /^convts train --dataset mnist .*--out \S+real$/);
    assert.equal(env.convtsVersion, JSON.parse(readFileSync('package.json', 'utf8')).version);
    assert.match(String(env.kernels), /^(reference|wasm-simd128|native-[\w-]+)$/);
    assert.ok(Number.isInteger(env.threads) && (env.threads as number) >= 1);
    assert.equal(d.config?.trainSize, 48);
    // a live run's row knows its training set size before any summary: the page's ETA needs it
    writeFileSync(
      join(runs, 'group', 'live', 'config.json'),
      JSON.stringify({ epochs: 3, batchSize: 8, trainSize: 480 }),
    );
    const live = (await json<RunsResponse>('/api/runs')).runs.find((r) => r.id === 'runs/group/live')!;
    assert.equal(live.trainSize, 480);
  });

  test('a Task 1 run shows its filter bank, rebuilt from the feature file’s header, and the bank’s maps', async () => {
    const r = await json<BankResponse>('/api/bank?id=runs/t1&index=2');
    assert.equal(r.bankName, 'lm');
    assert.equal(r.reason, null);
    assert.deepEqual(r.filters!.shape, [36, 1, 17, 17]);
    const lm = lmBank();
    // sent as bytes: each weight within half a step of 256 of the bank's range
    const step = (r.filters!.max - r.filters!.min) / 255;
    assert.equal(r.filters!.data.length, 0);
    const values = unpackedValues(r.filters!);
    assert.equal(values.length, lm.data.length);
    assert.ok(values.every((v, i) => Math.abs(v - lm.data[i]) <= step / 2 + 1e-4));
    assert.match(r.maps!.title, /^test image 2 /);
    assert.deepEqual(r.maps!.maps.shape, [36, 1, 12, 12]);
    // without the feature file: the reason, not an error
    renameSync(join(base, 'lm.feat'), join(base, 'lm.feat.away'));
    try {
      const gone = await json<BankResponse>('/api/bank?id=runs/t1');
      assert.equal(gone.filters, null);
      assert.match(gone.reason!, /lm\.feat/);
    } finally {
      renameSync(join(base, 'lm.feat.away'), join(base, 'lm.feat'));
    }
    assert.equal((await get('/api/bank?id=runs/real')).status, 422);
  });

  test('uploads: a PNG gives maps; anything else, or too big, gets a clear refusal', async () => {
    const png = new PNG({ width: 40, height: 30 });
    png.data.fill(255);
    const post = (body: Uint8Array) =>
      fetch(`${url}/api/maps?id=runs/real`, { method: 'POST', body: Uint8Array.from(body) });
    let r = await post(PNG.sync.write(png));
    assert.equal(r.status, 200);
    assert.match(((await r.json()) as FeatureMapsResponse).title, /^uploaded image 40×30/);
    r = await post(new TextEncoder().encode('hello'));
    assert.equal(r.status, 422);
    assert.match(await r.text(), /not a PNG or JPEG image/);
    r = await post(new Uint8Array(5 * 1024 * 1024 + 1));
    assert.equal(r.status, 413);
    const huge = PNG.sync.write(new PNG({ width: 5000, height: 2 }));
    r = await post(huge);
    assert.match(await r.text(), /5000×2 pixels; at most 4096×4096/);
  });

  test('the playground at /playground, cross-origin isolated; its wasm as application/wasm', async () => {
    for (const path of ['/playground', '/playground.js', '/playground-worker.js', '/convts.wasm', '/', '/app.js']) {
      const r = await fetch(url + path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin', path);
      assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp', path);
      assert.equal(r.headers.get('cross-origin-resource-policy'), 'same-origin', path);
    }
    const page = await fetch(`${url}/playground`);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.match(await page.text(), /<title>convts playground<\/title>/);
    const wasm = await fetch(`${url}/convts.wasm`);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.ok(WebAssembly.validate(new Uint8Array(await wasm.arrayBuffer())), 'the wasm module compiles');
    const slash = await fetch(`${url}/playground/`, { redirect: 'manual' });
    assert.equal(slash.status, 308);
    assert.equal(slash.headers.get('location'), '/playground');
  });

  test('data sets for the playground: listed with their files, served byte for byte, nothing else', async () => {
    const list = await json<DataListResponse>('/api/data');
    assert.deepEqual(
      list.sets.map((s) => [s.name, s.complete, s.files.map((f) => f.file)]),
      [
        ['mnist', true, mnistFiles.map((f) => `${f}.gz`)],
        ['cifar-10', false, ['test_batch_first1000.bin.gz', 'batches.meta.txt']],
      ],
    );
    const img = list.sets[0].files[0];
    assert.equal(img.bytes, statSync(join(data, 'mnist', img.file)).size);
    for (const f of mnistFiles) {
      const r = await fetch(`${url}/api/data/mnist/${f}.gz`);
      assert.equal(r.status, 200, f);
      assert.equal(r.headers.get('content-type'), 'application/gzip');
      assert.equal(r.headers.get('cross-origin-resource-policy'), 'same-origin');
      assert.deepEqual(Buffer.from(await r.arrayBuffer()), readFileSync(join(data, 'mnist', `${f}.gz`)), f);
    }
    // asked for raw, stored gzipped (or the other way round): the stored copy, named in a header
    const raw = await fetch(`${url}/api/data/mnist/${mnistFiles[1]}`);
    assert.equal(raw.headers.get('x-convts-file'), `${mnistFiles[1]}.gz`);
    const meta = await fetch(`${url}/api/data/cifar-10/batches.meta.txt.gz`);
    assert.equal(await meta.text(), 'airplane\nautomobile\n');
    const partial = await fetch(`${url}/api/data/cifar-10/test_batch_first1000.bin`);
    assert.equal(partial.headers.get('x-convts-file'), 'test_batch_first1000.bin.gz');
    assert.equal(await partial.text(), 'partial');
    for (const [path, why] of [
      ['/api/data/mnist/secret.txt', /not a file of mnist/],
      ['/api/data/mnist/..%2fsecret.txt', /not a file of mnist/],
      ['/api/data/mnist/../secret.txt', /ask for \/api\/data\/<set>\/<file>/],
      ['/api/data/%2e%2e/secret.txt', /no data set/],
      ['/api/data/fashion-mnist/train-images-idx3-ubyte.gz', /not found in .*nothing-here/],
      ['/api/data/cifar-10/data_batch_1.bin', /convts download cifar-10/],
      ['/api/data//etc/passwd', /ask for/],
      ['/api/data/mnist', /ask for/],
    ] as const) {
      const r = await get(path);
      assert.equal(r.status, 404, `${path} answered ${r.status}`);
      assert.match(JSON.parse(r.body).error, why, path);
    }
  });

  test('only files under the served folder: traversal, encoded traversal, absolute paths, symlinks out → 404', async () => {
    assert.equal((await get('/files/runs/old/config.json')).status, 200);
    assert.equal((await get('/')).status, 200);
    for (const path of [
      '/files/runs/../outside/secret.txt',
      '/files/runs/%2e%2e/outside/secret.txt',
      '/files/runs/%2E%2E%2Foutside%2Fsecret.txt',
      '/files/runs/old/..%2f..%2foutside/secret.txt',
      '/files//etc/passwd',
      '/files/%2fetc%2fpasswd',
      '/files/runs/link-out/secret.txt',
      '/files/runs/old/secret.txt',
      '/files/runs/old%00/config.json',
      '/files/runs/..\\outside\\secret.txt',
      '/api/run?id=runs/../outside',
      '/api/metrics?id=runs/%2e%2e/outside',
      '/api/run?id=/etc',
      '/api/run?id=runs/link-out',
      '/../package.json',
      '/%2e%2e/package.json',
      '/app.js/../../package.json',
      '/.hidden.js',
      '/playground/../package.json',
    ]) {
      const r = await get(path);
      assert.equal(r.status, 404, `${path} answered ${r.status}: ${r.body.slice(0, 80)}`);
      assert.ok(!r.body.includes('secret'), path);
    }
  });
});

test('the runs table names every activation a spec may use (gelu, leaky-relu too)', () => {
  const base = tempDir('convts-serve-row-');
  for (const act of ['gelu', 'leaky-relu', 'tanh']) {
    const dir = join(base, act);
    mkdirSync(dir);
    const layers = [{ type: 'conv2d', filters: 4 }, { type: act }, { type: 'maxpool2d' }];
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model: 'x', spec: { layers } }));
    assert.equal(runRow(act, dir, null).hyper.activation, act);
  }
});
