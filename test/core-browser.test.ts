// convts/core in a real browser: bundled with esbuild, served from 127.0.0.1, the WebAssembly kernels
// loaded with useWasmKernels({ url }) and a seed-mnist forward pass and training step run on them.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { tempDir } from './helpers/tmp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const chromium = process.env.CONVTS_CHROMIUM ?? '/usr/bin/chromium';
const wasm = join(root, 'dist/wasm/convts.wasm');
const missing = [chromium, wasm].find((f) => !existsSync(f));

// Runs in the page: logits on the wasm kernels against the reference, then one training step.
const page = `import * as c from './core.js';
const k = await c.useWasmKernels({ url: './convts.wasm' });
const model = c.buildModel(c.builtinSpec('seed-mnist'), { seed: 1 });
const rng = new c.Rng(3);
const x = new c.Tensor([4, 1, 28, 28]);
for (let i = 0; i < x.size; i++) x.data[i] = rng.uniform();
const fast = model.logits(x).data.slice();
const ref = c.withKernels(c.referenceKernels, () => model.logits(x).data.slice());
let diff = 0, scale = 0;
for (let i = 0; i < ref.length; i++) { diff = Math.max(diff, Math.abs(fast[i] - ref[i])); scale = Math.max(scale, Math.abs(ref[i])); }
model.zeroGrad();
const { loss } = model.lossAndBackward(x, [0, 1, 2, 3]);
new c.Sgd({ lr: 0.01 }).step(model.params());
window.result = { name: c.kernels().name, rel: diff / scale, loss };`;

test('convts/core runs in Chromium on the WebAssembly kernels it loads from a URL', {
  skip: missing ? `${missing} not found — browser check skipped` : false,
  timeout: 120_000,
}, async () => {
  const dir = tempDir('convts-browser-');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  await build({
    entryPoints: [join(root, pkg.exports['./core'].default)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    outfile: join(dir, 'core.js'),
  });
  copyFileSync(wasm, join(dir, 'convts.wasm'));
  writeFileSync(join(dir, 'index.html'), `<!doctype html><script type="module">${page}</script>`);
  const types: Record<string, string> = { html: 'text/html', js: 'text/javascript', wasm: 'application/wasm' };
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1) || 'index.html';
    if (!/^(index\.html|core\.js|convts\.wasm)$/.test(name)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[name.split('.').pop() ?? ''] }).end(readFileSync(join(dir, name)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { chromium: pw } = await import('playwright-core');
  const browser = await pw.launch({
    executablePath: chromium,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await tab.waitForFunction(() => 'result' in window, undefined, { timeout: 60_000 });
    const r = (await tab.evaluate(() => (window as unknown as { result: unknown }).result)) as {
      name: string;
      rel: number;
      loss: number;
    };
    assert.deepEqual(errors, []);
    assert.equal(r.name, 'wasm-simd128');
    assert.ok(r.rel <= 1e-5, `logits differ from the reference by ${r.rel} relative`);
    assert.ok(Number.isFinite(r.loss) && r.loss > 0, `loss ${r.loss}`);
  } finally {
    await browser.close();
    server.close();
  }
});
