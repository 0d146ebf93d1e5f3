import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { PNG } from 'pngjs';
import { convts, convtsInterrupted, convtsInterruptedWith, readJson } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { checkPng } from './helpers/png-check.js';
import { tempDir } from './helpers/tmp.js';

// Runs through the command line that a tiny MNIST-format data set makes fast: --config, Ctrl-C
// and --resume, sweeps, and summary.json against its published schema.

const schema = readJson(join(import.meta.dirname, '..', '..', 'docs', 'summary.schema.json'));
const validate = new Ajv({ allErrors: true }).compile(schema);
const checkSummary = (path: string) => {
  const s = readJson(path);
  const ok: boolean = validate(s); // not in the assert: the type guard would narrow s to unknown
  assert.ok(ok, `${path}: ${JSON.stringify(validate.errors)}`);
  return s;
};
const untimed = (lines: { seconds: number; evalSeconds: number }[]) =>
  lines.map(({ seconds: _s, evalSeconds: _e, ...m }) => m);
const metrics = (dir: string) =>
  untimed(
    readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((m) => m.kind !== 'step'), // step records carry timings and restart their window at a resume
  );

describe('convts train --config, Ctrl-C, --resume', () => {
  const data = tempDir('convts-runs-');
  before(() => writeMnistDir(data, 48, 24));
  const train = (...args: string[]) => ['train', '--dataset', 'mnist', '--data-dir', data, '--offline', ...args];

  test('Ctrl-C while the data is loaded (the event loop blocked): stopped before training, nothing written', async () => {
    const out = join(data, 'stopped-loading');
    const r = await convtsInterruptedWith(
      { CONVTS_TEST_LOAD_HOLD_MS: '1500' },
      /^holding after loading/m,
      ...train('--epochs', '2', '--out', out),
    );
    assert.ok(r.signalled);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /stopped while loading the data; nothing was written to /);
    assert.doesNotMatch(r.stderr, /^training /m);
    assert.ok(!existsSync(join(out, 'config.json')), 'no run file written');
  });

  test('Ctrl-C saves a checkpoint; --resume ends with the bytes of an uninterrupted run; every summary.json fits its schema', async () => {
    // Enough epochs that the run is still going when the signal lands, even on the fast kernels.
    const args = ['--epochs', '40', '--batch-size', '2', '--optimizer', 'nesterov', '--schedule', 'step:2:0.5'];
    const whole = join(data, 'whole');
    const cut = join(data, 'cut');
    const [w, c] = await Promise.all([
      convts(...train(...args, '--out', whole)),
      convtsInterrupted(/^epoch 1\/40 /m, ...train(...args, '--out', cut, '--json')),
    ]);
    assert.equal(w.code, 0, w.stderr);
    assert.ok(c.signalled);
    assert.equal(c.code, 130, c.stderr);
    assert.match(
      c.stderr,
      /stopped at epoch \d+, image \d+\/48; saved .*checkpoint\.safetensors — continue with: convts train --resume /,
    );
    assert.ok(existsSync(join(cut, 'checkpoint.safetensors')));
    assert.ok(!existsSync(join(cut, 'model.safetensors')), 'no final model before the run finished');
    const stopped = checkSummary(join(cut, 'summary.json'));
    assert.equal(stopped.status, 'interrupted');
    assert.ok(stopped.epoch >= 2 && stopped.epoch <= 40, `stopped in epoch ${stopped.epoch}`);
    assert.equal(JSON.parse(c.stdout).status, 'interrupted', '--json says so too');

    const r = await convts('train', '--resume', cut);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^resuming at epoch ${stopped.epoch}, image ${stopped.image}/48`));
    assert.ok(
      readFileSync(join(cut, 'model.safetensors')).equals(readFileSync(join(whole, 'model.safetensors'))),
      'final weights differ',
    );
    assert.deepEqual(metrics(cut), metrics(whole));
    assert.ok(!existsSync(join(cut, 'checkpoint.safetensors')), 'the checkpoint goes once the run is done');
    assert.equal(checkSummary(join(cut, 'summary.json')).status, 'completed');
    checkSummary(join(whole, 'summary.json'));

    const again = await convts('train', '--resume', cut);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /checkpoint\.safetensors not found .*\(this run has a summary\.json: it already finished\)/,
    );
  });

  test("a diverged run's summary fits the schema; a summary with a wrong field does not", async () => {
    const out = join(data, 'diverged');
    const r = await convts(
      ...train(
        '--optimizer',
        'sgd',
        '--lr',
        '1e10',
        '--batch-size',
        '4',
        '--train-limit',
        '16',
        '--test-limit',
        '4',
        '--out',
        out,
      ),
    );
    assert.equal(r.code, 1);
    assert.equal(checkSummary(join(out, 'summary.json')).status, 'diverged');
    const good = readJson(join(data, 'whole', 'summary.json'));
    for (const bad of [
      { ...good, testAccuracy: 1.5 },
      { ...good, confusionMatrix: [[1, -1]] },
      { ...good, status: 'done' },
      { ...good, perEpoch: [] },
      (({ seed: _, ...rest }) => rest)(good),
    ])
      assert.equal(validate(bad), false, JSON.stringify(bad).slice(0, 80));
  });

  test('--config gives flags from a file, the command line overrides it, and mistakes in it name the file', async () => {
    const cfg = join(data, 'cfg.json');
    writeFileSync(
      cfg,
      JSON.stringify({ epochs: 2, 'batch-size': 8, lr: 0.05, 'train-limit': 16, 'test-limit': 8, activation: 'tanh' }),
    );
    const out = join(data, 'configured');
    const r = await convts(...train('--config', cfg, '--lr', '0.02', '--out', out));
    assert.equal(r.code, 0, r.stderr);
    const c = readJson(join(out, 'config.json'));
    assert.deepEqual([c.epochs, c.batchSize, c.lr, c.trainLimit, c.testLimit], [2, 8, 0.02, 16, 8]);
    assert.ok(c.spec.layers.some((l: { type: string }) => l.type === 'tanh'));

    const cases: [unknown, RegExp][] = [
      [{ epoch: 2 }, /cfg-bad\.json: "epoch" is not a train option — did you mean "epochs"\?/],
      [{ lr: 'fast' }, /cfg-bad\.json: "lr": expected a number > 0, got "fast"/],
      [{ flatten: 'yes' }, /cfg-bad\.json: "flatten" must be true or false, got "yes"/],
      [[1, 2], /cfg-bad\.json: expected a JSON object of flag names and values/],
      [{ model: 0 }, /cfg-bad\.json: "model": unknown model "0" — use one of/],
    ];
    for (const [content, message] of cases) {
      writeFileSync(join(data, 'cfg-bad.json'), JSON.stringify(content));
      const bad = await convts(...train('--config', join(data, 'cfg-bad.json')));
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, message);
    }
    // A batch size that makes the model too large: the memory refusal (exit 1) names the file it came from.
    writeFileSync(join(data, 'cfg-bad.json'), JSON.stringify({ 'batch-size': '1e9' }));
    const big = await convts(...train('--config', join(data, 'cfg-bad.json')));
    assert.equal(big.code, 1, big.stderr);
    assert.match(
      big.stderr,
      /^convts: \S*cfg-bad\.json: "batch-size": layer \d+ \(\w+\): the model needs at least .* at batch 1000000000 .* or a smaller batch\n/m,
    );
    writeFileSync(join(data, 'cfg-bad.json'), '{"lr": 0.1,}');
    assert.match(
      (await convts(...train('--config', join(data, 'cfg-bad.json')))).stderr,
      /cfg-bad\.json: not valid JSON/,
    );
  });
});

test('every command has --help with an example; convts --help documents the exit codes', async () => {
  const commands = ['train', 'sweep', 'worker', 'eval', 'predict', 'show', 'download'];
  const runs = await Promise.all([...commands.map((c) => convts(c, '--help')), convts('--help')]);
  for (const [i, c] of commands.entries()) {
    assert.equal(runs[i].code, 0, c);
    assert.match(runs[i].stdout, new RegExp(`^Usage: convts ${c}`, 'm'), c);
    assert.match(runs[i].stdout, new RegExp(`^Examples?:\\n +convts ${c} `, 'm'), c);
  }
  const main = runs[commands.length].stdout;
  for (const c of commands) assert.match(main, new RegExp(`^ +${c} +\\S`, 'm'), c);
  assert.match(main, /^ +2 +usage: unknown command or flag, a bad flag value/m);
  assert.match(main, /^ +130 +stopped by Ctrl-C/m);
});

describe('convts sweep', () => {
  const data = tempDir('convts-sweep-');
  before(() => writeMnistDir(data, 32, 16));
  const sweep = (...args: string[]) =>
    convts(
      'sweep',
      '--dataset',
      'mnist',
      '--data-dir',
      data,
      '--offline',
      '--train-limit',
      '16',
      '--test-limit',
      '8',
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--jobs',
      '2',
      ...args,
    );

  test('runs every combination as a run directory, ranks them, draws them, and skips finished trials when run again', async () => {
    const out = join(data, 'sweep');
    const r = await sweep('--grid', 'lr=0.01,0.05', '--grid', 'train-limit=8,16', '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const names = [
      'lr-0.01_train-limit-8',
      'lr-0.01_train-limit-16',
      'lr-0.05_train-limit-8',
      'lr-0.05_train-limit-16',
    ];
    for (const n of names) {
      const s = checkSummary(join(out, n, 'summary.json'));
      assert.equal(s.status, 'completed');
      assert.ok(existsSync(join(out, n, 'report.html')));
    }
    assert.equal(readJson(join(out, 'lr-0.05_train-limit-16', 'config.json')).lr, 0.05);

    const printed: { name: string; testAccuracy: number }[] = JSON.parse(r.stdout);
    assert.deepEqual(printed.map((t) => t.name).sort(), [...names].sort());
    const accs = printed.map((t) => t.testAccuracy);
    assert.deepEqual(
      accs,
      [...accs].sort((a, b) => b - a),
      'best first',
    );
    for (const t of printed) assert.equal(t.testAccuracy, readJson(join(out, t.name, 'summary.json')).testAccuracy);

    const md = readFileSync(join(out, 'sweep.md'), 'utf8').trimEnd().split('\n');
    assert.equal(md.length, 2 + 4);
    assert.match(md[0], /^\| rank \| lr \| train-limit \| test accuracy \|.* \| report \|$/);
    assert.equal(md[2].split('|')[4].trim(), `${(100 * accs[0]).toFixed(2)}%`);

    const html = readFileSync(join(out, 'sweep.html'), 'utf8');
    assert.equal((html.match(/<tr>/g) ?? []).length, 1 + 4);
    assert.equal(
      (html.match(/<img src="data:image\/png;base64,/g) ?? []).length,
      2 + 4,
      'two by-parameter plots and four curves',
    );
    assert.ok(!/src="http|href="http/.test(html), 'self-contained');
    for (const n of names) assert.ok(html.includes(`<a href="${n}/report.html">report</a>`), `links ${n}/report.html`);
    assert.match(md[2], /\[report\]\(lr-0\.0\d_train-limit-\d+\/report\.html\) \|$/);
    // The trials' small charts share one y axis: their tick-label columns are the same pixels.
    const charts = [...html.matchAll(/<img src="data:image\/png;base64,([^"]+)" alt="accuracy curves of /g)].map((m) =>
      PNG.sync.read(Buffer.from(m[1], 'base64')),
    );
    assert.equal(charts.length, 4);
    const axis = (png: PNG) =>
      Buffer.concat(
        Array.from({ length: png.height - 40 }, (_, y) =>
          png.data.subarray((y + 40) * png.width * 4, ((y + 40) * png.width + 70) * 4),
        ),
      );
    for (const c of charts.slice(1)) assert.ok(axis(c).equals(axis(charts[0])), 'same y axis on every trial chart');
    for (const key of ['lr', 'train-limit'])
      checkPng(readFileSync(join(out, `sweep-${key}.png`)), 560, 400, `sweep-${key}.png`);

    rmSync(join(out, names[1], 'summary.json'));
    const again = await sweep('--grid', 'lr=0.01,0.05', '--grid', 'train-limit=8,16', '--out', out);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /4 trials of lr × train-limit .*\(3 already done, skipped\), 1 at a time/);
    assert.match(again.stderr, /\[4\/4\] lr-0\.01_train-limit-16: test accuracy/);
    assert.equal(readdirSync(out).filter((f) => f.startsWith('lr-')).length, 4);

    const other = await sweep('--grid', 'lr=0.01,0.05', '--grid', 'train-limit=8,16', '--out', out, '--seed', '2');
    assert.equal(other.code, 2);
    assert.match(
      other.stderr,
      /lr-0\.01_train-limit-8 finished with other settings \(seed differs\) — give this sweep another --out/,
    );
  });

  test('sweep.html in a headless browser: images load, and clicking a heading sorts the table', async (t) => {
    const chromium = process.env.CONVTS_CHROMIUM ?? '/usr/bin/chromium';
    const html = join(data, 'sweep', 'sweep.html');
    if (!existsSync(chromium) || !existsSync(html)) {
      t.skip(`${existsSync(chromium) ? html : chromium} not found — browser check skipped`);
      return;
    }
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({
      executablePath: chromium,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`file://${html}`, { waitUntil: 'load' });
      const imgs = await page.$$eval('img', (list) => list.map((i) => i.complete && i.naturalWidth > 0));
      assert.deepEqual(imgs, Array(6).fill(true));
      const column = (i: number) =>
        page.$$eval(
          '#trials tbody tr',
          (rows, i) => rows.map((r) => (r as HTMLTableRowElement).cells[i].textContent ?? ''),
          i,
        );
      await page.click('#trials th:nth-child(2)'); // lr: numbers, largest first
      assert.deepEqual(await column(1), ['0.05', '0.05', '0.01', '0.01']);
      await page.click('#trials th:nth-child(2)'); // again: reversed
      assert.deepEqual(await column(1), ['0.01', '0.01', '0.05', '0.05']);
      await page.click('#trials th:nth-child(3)'); // train-limit: numbers, largest first
      assert.deepEqual(await column(2), ['16', '16', '8', '8']);
      assert.equal(await page.locator('#trials a[href$="/report.html"]').count(), 4);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  test('a failed trial ends the sweep with one convts: line naming the trial and why, exit 1', async () => {
    const out = join(data, 'failing');
    const r = await sweep('--grid', 'batch-size=8,1000000000', '--out', out);
    assert.equal(r.code, 1, r.stderr);
    const last = r.stderr.trimEnd().split('\n').pop() ?? '';
    assert.match(
      last,
      /^convts: sweep: 1 of 2 trial\(s\) failed — batch-size-1000000000: layer 0 \(conv2d\): the model needs at least .* at batch 1000000000 .* or a smaller batch \(exit code 1; see .*train\.log\)$/,
    );
    assert.match(r.stderr, /sweep: best batch-size-8 at \d+\.\d+%/);
  });

  test('bad grids are usage errors that say what to do', async () => {
    const cases: [string[], RegExp][] = [
      [[], /give at least one --grid KEY=V1,V2/],
      [['--grid', 'lr'], /--grid: expected KEY=V1,V2,… \(e\.g\. lr=0\.01,0\.1\), got "lr"/],
      [['--grid', 'colour=red'], /--grid: "colour" cannot be swept — use one of lr, filters/],
      [['--grid', 'lr=0.1,abc'], /--grid lr=abc: "lr": expected a number > 0, got "abc"/],
      [['--grid', 'lr=0.1,0.1'], /give each value once/],
      [['--grid', 'lr=0.1', '--grid', 'lr=0.2'], /"lr" is given twice/],
      [['--grid', 'lr=0.1', '--jobs', '0'], /--jobs: expected an integer ≥ 1, got "0"/],
    ];
    const out = join(data, 'never');
    const runs = await Promise.all(cases.map(([args]) => sweep(...args, '--out', out)));
    for (const [i, [args, message]] of cases.entries()) {
      assert.equal(runs[i].code, 2, `sweep ${args.join(' ')}: ${runs[i].stderr}`);
      assert.match(runs[i].stderr, message);
    }
    assert.ok(!existsSync(out), 'nothing written');
  });
});
