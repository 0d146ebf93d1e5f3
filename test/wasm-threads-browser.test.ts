// The WebAssembly kernels inside Chromium: on a page served with the COOP/COEP headers (cross-origin
// isolated) every mode — SIMD128 and relaxed SIMD, one thread and a pool of two — against the
// reference kernels; on a page served without them, one thread and a notice saying why.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { wasmFiles } from '../src/core.js';
import { chromiumPath, isolationHeaders, launchChromium } from './helpers/browser.js';
import { TOL } from './helpers/kernel-shapes.js';
import { tempDir } from './helpers/tmp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const wasmDir = join(root, 'dist/wasm');
const missing = [chromiumPath, ...Object.values(wasmFiles).map((f) => join(wasmDir, f))].find((f) => !existsSync(f));

interface Mode {
  threads: number;
  simd: string;
  name: string;
  notice: string | null;
  worst: Record<string, number>;
  items: number[];
  /** The layers' arrays live in the module's memory (no copy in and out at each call). */
  resident: boolean;
}

// Runs in the page: every mode isolation allows, each compared with the reference kernels.
const page = `import { startWasmKernels } from './src/core.js';
import { compareKernels } from './test/helpers/kernel-compare.js';
const modes = crossOriginIsolated
  ? [[1, 'simd128'], [1, 'relaxed'], [2, 'simd128'], [2, 'relaxed']]
  : [[2, undefined]];
const out = [];
for (const [threads, simd] of modes) {
  const s = await startWasmKernels({ from: new URL('./', location.href), threads, simd });
  const worst = compareKernels(s.kernels, 11);
  const resident = typeof s.kernels.allocF32 === 'function';
  out.push({ threads: s.threads, simd: s.simd, name: s.kernels.name, notice: s.notice, worst, items: s.itemsRun(), resident });
  s.terminate();
}
window.result = { isolated: crossOriginIsolated, modes: out };`;

test('Chromium: with isolation two threads and relaxed SIMD match the reference; without, one thread and a notice', {
  skip: missing ? `${missing} not found — browser check skipped` : false,
  timeout: 180_000,
}, async () => {
  const dir = tempDir('convts-threads-');
  await build({
    stdin: { contents: page, resolveDir: join(root, 'dist'), loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    outfile: join(dir, 'page.js'),
    logLevel: 'silent',
  });
  for (const f of Object.values(wasmFiles)) copyFileSync(join(wasmDir, f), join(dir, f));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="page.js"></script>');
  // /isolated/… with the two headers cross-origin isolation needs, /plain/… without.
  const server = createServer((req, res) => {
    const m = (req.url ?? '').match(/^\/(isolated|plain)\/([\w.-]*)$/);
    const name = m?.[2] || 'index.html';
    if (!m || !existsSync(join(dir, name))) return void res.writeHead(404).end();
    const type = { html: 'text/html', js: 'text/javascript', wasm: 'application/wasm' }[name.split('.').pop() ?? ''];
    const isolation = m[1] === 'isolated' ? isolationHeaders : {};
    res.writeHead(200, { 'content-type': type ?? 'application/octet-stream', ...isolation });
    res.end(readFileSync(join(dir, name)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  assert.ok(browser);
  try {
    const run = async (where: string) => {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (e) => errors.push(e.message));
      await tab.goto(`${base}/${where}/`);
      await tab.waitForFunction(() => 'result' in window, undefined, { timeout: 150_000 });
      const r = (await tab.evaluate(() => (window as unknown as { result: unknown }).result)) as {
        isolated: boolean;
        modes: Mode[];
      };
      assert.deepEqual(errors, []);
      await tab.close();
      return r;
    };
    const iso = await run('isolated');
    assert.equal(iso.isolated, true);
    assert.deepEqual(
      iso.modes.map((m) => `${m.threads} ${m.simd} ${m.name}`),
      [
        '1 simd128 wasm-simd128',
        '1 relaxed wasm-simd128',
        '2 simd128 wasm-simd128-threads',
        '2 relaxed wasm-simd128-threads',
      ],
    );
    for (const m of iso.modes) {
      assert.equal(m.notice, null);
      for (const [kernel, e] of Object.entries(m.worst))
        assert.ok(e <= TOL, `${m.threads} thread(s), ${m.simd}: ${kernel} differs by ${e.toExponential(2)} relative`);
      if (m.threads === 2) assert.ok(m.items[1] > 0, `the pool's worker ran no item (${m.items})`);
      assert.ok(m.resident, `${m.threads} thread(s), ${m.simd}: the arrays are copied at each call`);
    }
    const plain = await run('plain');
    assert.equal(plain.isolated, false);
    assert.equal(plain.modes[0].threads, 1);
    assert.match(plain.modes[0].notice ?? '', /one thread instead of 2: this page is not cross-origin isolated/);
    assert.ok(Object.values(plain.modes[0].worst).every((e) => e <= TOL));
    // Chromium makes shared memories without isolation too: one thread, arrays in the module's memory.
    assert.ok(plain.modes[0].resident, 'the page that is not isolated copies the arrays at each call');
  } finally {
    await browser.close();
    server.close();
  }
});
