// `npm install` step: builds the C++ kernels (native/, binding.gyp) with node-gyp, Node's standard addon
// toolchain. A machine that cannot build them still installs: convts then runs on its other kernels.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

// npm hands scripts the path of its bundled node-gyp; outside npm, try one on PATH.
const gyp = process.env.npm_config_node_gyp;
const cmd = gyp ? process.execPath : 'node-gyp';
const args = gyp ? [gyp, 'rebuild'] : ['rebuild'];
// Use the headers installed next to this node (e.g. Debian's /usr/include/node) rather than downloading them.
const prefix = dirname(dirname(process.execPath));
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  const why = r.error ? r.error.message : (r.stderr.split('\n').find((l) => /error/i.test(l)) ?? `exit code ${r.status}`);
  console.log(`convts: native kernels not built (${why.trim()}) — using the portable kernels instead`);
}
