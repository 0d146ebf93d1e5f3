// Bundles the playground (web/playground.html, web/src/playground/) into dist/web/: playground.js
// (the page and uPlot), playground-worker.js (the convts core), playground.css and the .wasm modules.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
const src = join(root, 'web', 'src', 'playground');
mkdirSync(out, { recursive: true });
const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
};
await build({ ...common, entryPoints: [join(src, 'main.ts')], outfile: join(out, 'playground.js') });
await build({ ...common, entryPoints: [join(src, 'worker.ts')], outfile: join(out, 'playground-worker.js') });
// The page `convts bench --backend browser` drives (bench/browser.ts serves it).
await build({ ...common, entryPoints: [join(root, 'bench', 'browser-page.ts')], outfile: join(out, 'bench.js') });
const uplotCss = readFileSync(join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), 'utf8');
writeFileSync(join(out, 'playground.css'), `${uplotCss}\n${readFileSync(join(src, 'playground.css'), 'utf8')}`);
copyFileSync(join(root, 'web', 'playground.html'), join(out, 'playground.html'));
// The relaxed-SIMD and threaded modules are optional (the page falls back to the plain one, on one
// thread); the plain one is not.
for (const name of ['convts.wasm', 'convts-relaxed.wasm', 'convts-mt.wasm', 'convts-mt-relaxed.wasm']) {
  const wasm = join(root, 'dist', 'wasm', name);
  if (existsSync(wasm)) copyFileSync(wasm, join(out, name));
  // Without clang the install still succeeds; the page then says it has no kernels.
  else if (name === 'convts.wasm')
    console.warn(`playground: ${wasm} is missing — run npm run build:kernels (needs clang and lld)`);
}
