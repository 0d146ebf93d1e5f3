// `npm install` step (and `npm run build:kernels`): builds the fast kernels from native/.
//  - the Node addon, with node-gyp (Node's standard addon toolchain) → build/Release/convts_<variant>.node
//  - the WebAssembly module, with clang/lld (Debian: apt-get install clang lld) → dist/wasm/convts.wasm
// A machine that cannot build one still installs: convts then runs on the kernels it has, and says so here.
// The WebAssembly module is also built at `npm pack`/`npm publish` (prepack, `--wasm-only --strict`) and
// ships in the package, so an install without scripts, or without clang, still has it: it is rebuilt here
// only when a source in native/ is newer than it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
  // three x86-64 variants are 60 compilations.
  const gyp = process.env.npm_config_node_gyp;
  const gypArgs = [...(gyp ? [gyp] : []), 'rebuild', '--jobs', '2'];
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${prefix}`);
  attempt('native kernels', gyp ? process.execPath : 'node-gyp', gypArgs);
}

// -msimd128: WebAssembly's 128-bit SIMD, in every current browser and Node ≥ 16. No libc: native/base.h
// and native/wasm.cc supply the little the kernels need. A second module adds relaxed SIMD (fused
// multiply-add in the gemm loops) for engines that have it; pages pick it when it compiles. The "-mt"
// pair runs on threads: atomics, thread-local scratch, and a shared memory it imports with the sizes
// src/kernels/wasm/pool.ts creates (16 MiB to start, at most 2 GiB); each worker's stack pointer is set
// from JavaScript, hence the exported (mutable) global.
const threaded = [
  '-matomics',
  '-mmutable-globals',
  '-ftls-model=local-exec',
  '-fno-threadsafe-statics',
  '-Wl,--import-memory',
  '-Wl,--shared-memory',
  '-Wl,--initial-memory=16777216',
  '-Wl,--max-memory=2147483648',
  '-Wl,--export=__stack_pointer',
];
const sources = readdirSync('native').map((f) => join('native', f));
for (const [wasm, what, extra] of [
  ['dist/wasm/convts.wasm', 'WebAssembly kernels', []],
  ['dist/wasm/convts-relaxed.wasm', 'WebAssembly kernels with relaxed SIMD', ['-mrelaxed-simd']],
  ['dist/wasm/convts-mt.wasm', 'WebAssembly kernels on threads', threaded],
  [
    'dist/wasm/convts-mt-relaxed.wasm',
    'WebAssembly kernels on threads with relaxed SIMD',
    ['-mrelaxed-simd', ...threaded],
  ],
]) {
  const stale = !existsSync(wasm) || sources.some((f) => statSync(f).mtimeMs > statSync(wasm).mtimeMs);
  if (!stale && !strict) continue;
  mkdirSync(dirname(wasm), { recursive: true });
  const tmp = `${wasm}.${process.pid}.tmp`;
  const built = attempt(what, process.env.CLANGXX ?? 'clang++', [
    '--target=wasm32',
    '-O3',
    '-msimd128',
    ...extra,
    '-mbulk-memory',
    '-std=c++17',
    '-nostdlib',
    '-fno-exceptions',
    '-fno-rtti',
    '-Wl,--no-entry',
    '-Wl,--strip-all',
    '-o',
    tmp,
    ...[
      'wasm',
      'gemm',
      'gemm_unpacked',
      'conv',
      'conv_wide',
      'conv_pixel',
      'conv_pixel_grad',
      'conv_dense_map',
      'dense',
      'pooling',
      'sgd',
      'batchnorm',
      'bn_pool',
      'gelu',
      'winograd',
      'winograd_grad',
    ].map((f) => `native/${f}.cc`),
  ]);
  if (built && extra.includes('-mrelaxed-simd')) finalOpcodes(tmp);
  if (built) renameSync(tmp, wasm);
  else rmSync(tmp, { force: true });
}

// clang 14 writes f32x4 relaxed madd with the relaxed-SIMD proposal's early opcode (0xfd 0xaf); the
// standard, which browsers run, gave it 0xfd 0x105. Both are three bytes (LEB128), so the code section
// is rewritten in place. The numerics tests run the result against the reference kernels.
function finalOpcodes(file) {
  const b = readFileSync(file);
  let at = 8;
  while (at < b.length) {
    const id = b[at++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const x = b[at++];
      size |= (x & 0x7f) << shift;
      if (x < 0x80) break;
    }
    if (id === 10)
      for (let i = at; i + 2 < at + size; i++)
        if (b[i] === 0xfd && b[i + 1] === 0xaf && b[i + 2] === 0x01) b.set([0xfd, 0x85, 0x02], i);
    at += size;
  }
  writeFileSync(file, b);
}
