// `npm install` step (and `npm run build:kernels`): builds the fast kernels from native/.
//  - the Node addon, with node-gyp (Node's standard addon toolchain) → build/Release/convts.node
//  - the WebAssembly module, with clang/lld (Debian: apt-get install clang lld) → build/convts.wasm
// A machine that cannot build one still installs: convts then runs on the kernels it has, and says so here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

function attempt(what, cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) return;
  const why = r.error
    ? r.error.message
    : (r.stderr.split('\n').find((l) => /error/i.test(l)) ?? `exit code ${r.status}`);
  console.log(`convts: ${what} not built (${why.trim()}) — using the other kernels instead`);
}

// npm hands scripts the path of its bundled node-gyp; outside npm, try one on PATH. Headers installed
// next to this node (e.g. Debian's /usr/include/node) are used rather than downloaded.
const gyp = process.env.npm_config_node_gyp;
const gypArgs = gyp ? [gyp, 'rebuild'] : ['rebuild'];
const prefix = dirname(dirname(process.execPath));
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${prefix}`);
attempt('native kernels', gyp ? process.execPath : 'node-gyp', gypArgs);

// -msimd128: WebAssembly's 128-bit SIMD, in every current browser and Node ≥ 16. No libc: native/base.h
// and native/wasm.cc supply the little the kernels need.
mkdirSync('build', { recursive: true });
attempt('WebAssembly kernels', process.env.CLANGXX ?? 'clang++', [
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
  'build/convts.wasm',
  ...['wasm', 'gemm', 'conv', 'dense', 'pooling', 'sgd'].map((f) => `native/${f}.cc`),
]);
