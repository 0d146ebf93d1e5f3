// `npm install` step (and `npm run build:kernels`): builds the fast kernels from native/.
//  - the Node addon, with node-gyp (Node's standard addon toolchain) → build/Release/convts_<variant>.node
//  - the WebAssembly module, with clang/lld (Debian: apt-get install clang lld) → dist/wasm/convts.wasm
// A machine that cannot build one still installs: convts then runs on the kernels it has, and says so here.
// The WebAssembly module is also built at `npm pack`/`npm publish` (prepack, `--wasm-only --strict`) and
// ships in the package, so an install without scripts, or without clang, still has it: it is rebuilt here
// only when a source in native/ is newer than it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const wasmOnly = process.argv.includes('--wasm-only');
const strict = process.argv.includes('--strict'); // a failed build fails the command (publishing)

function attempt(what, cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) return true;
  const why = r.error
    ? r.error.message
    : (r.stderr.split('\n').find((l) => /error/i.test(l)) ?? `exit code ${r.status}`);
  console.log(`convts: ${what} not built (${why.trim()}) — using the other kernels instead`);
  if (strict) process.exit(1);
  return false;
}

if (!wasmOnly) {
  // npm hands scripts the path of its bundled node-gyp; outside npm, try one on PATH. Headers installed
  // next to this node (e.g. Debian's /usr/include/node) are used rather than downloaded. Two jobs: the
  // three x86-64 variants are 21 compilations.
  const gyp = process.env.npm_config_node_gyp;
  const gypArgs = [...(gyp ? [gyp] : []), 'rebuild', '--jobs', '2'];
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${prefix}`);
  attempt('native kernels', gyp ? process.execPath : 'node-gyp', gypArgs);
}

// -msimd128: WebAssembly's 128-bit SIMD, in every current browser and Node ≥ 16. No libc: native/base.h
// and native/wasm.cc supply the little the kernels need.
const wasm = 'dist/wasm/convts.wasm';
const sources = readdirSync('native').map((f) => join('native', f));
const stale = !existsSync(wasm) || sources.some((f) => statSync(f).mtimeMs > statSync(wasm).mtimeMs);
if (stale || strict) {
  mkdirSync(dirname(wasm), { recursive: true });
  const tmp = `${wasm}.${process.pid}.tmp`;
  const built = attempt('WebAssembly kernels', process.env.CLANGXX ?? 'clang++', [
    '--target=wasm32',
    '-O3',
    '-msimd128',
    '-mbulk-memory',
    '-std=c++17',
    '-nostdlib',
    '-fno-exceptions',
    '-fno-rtti',
    '-Wl,--no-entry',
    '-Wl,--strip-all',
    '-o',
    tmp,
    ...['wasm', 'gemm', 'conv', 'dense', 'pooling', 'sgd'].map((f) => `native/${f}.cc`),
  ]);
  if (built) renameSync(tmp, wasm);
  else rmSync(tmp, { force: true });
}
