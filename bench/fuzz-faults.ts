// The campaign's disk faults: an output path on a full, read-only or forbidden file system, under
// /proc or /sys, behind a file (ENOTDIR) or a dangling link, or with a 300-character name.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from './fuzz-case.js';
import { esc, pick } from './fuzz-damage.js';
import { trainOn, withFlag } from './fuzz-files.js';

/** Mount points for the disk faults, made once (root only): tiny tmpfs, and a read-only one. */
export interface Mounts {
  full: string[];
  readOnly: string | null;
  forbidden: string | null;
}

export function faultScenario(m: Mounts): Scenario {
  return {
    name: 'faults (full disk, read-only, forbidden, /proc, /sys, ENOTDIR, links, long names)',
    make: (d, rng, k) => {
      // [what, the output path, run as nobody, must fail]
      const places: [string, () => string, boolean, boolean][] = [
        ['/proc', () => `/proc/convts-fuzz-${k}`, false, true],
        ['/proc/self', () => `/proc/self/convts-${k}`, false, true],
        ['/sys', () => `/sys/kernel/convts-${k}`, false, true],
        [
          'a file on the path (ENOTDIR)',
          () => {
            writeFileSync(join(d, 'plain'), 'x');
            return join(d, 'plain', 'out');
          },
          false,
          true,
        ],
        [
          'a dangling link as the folder',
          () => {
            symlinkSync(join(d, 'nowhere', 'deeper'), join(d, 'link'));
            return join(d, 'link');
          },
          false,
          false,
        ],
        ['a 300-character name', () => join(d, 'n'.repeat(300)), false, true],
        ['/dev/null as the folder', () => '/dev/null', false, true],
      ];
      if (m.full.length)
        places.push(['a full disk', () => join(pick(rng, m.full), `c${process.pid}-${k}`), false, false]);
      if (m.readOnly) places.push(['a read-only file system', () => join(m.readOnly!, `c${k}`), false, true]);
      if (m.forbidden)
        places.push(['a folder it may not write (as nobody)', () => join(m.forbidden!, `c${k}`), true, true]);
      const [what, where, nobody, mustRefuse] = pick(rng, places);
      const out = where();
      const cmd = rng.int(6);
      const args =
        cmd === 0 || cmd === 1
          ? withFlag(trainOn(d), 'out', out)
          : cmd === 2
            ? ['features', '--bank', 'lm', '--dataset', 'mnist', '--data-dir', d, '--out', join(out, 'f.feat')]
            : cmd === 3
              ? ['show', pick(rng, ['filters', 'curves', 'confusion']), join(d, 'run'), '--out', join(out, 'x.png')]
              : cmd === 4
                ? ['import', join(d, 'model.onnx'), '--out', out]
                : ['export', join(d, 'run'), '--out', join(out, 'm.onnx')];
      return {
        args,
        nobody,
        culprit: new RegExp(esc(out.slice(0, 40))),
        note: `${args[0]} into ${what}`,
        mustRefuse,
        cleanup: what === 'a full disk' ? [out] : [],
      };
    },
  };
}

export async function mountFaults(root: string): Promise<{ m: Mounts; undo: () => void }> {
  const m: Mounts = { full: [], readOnly: null, forbidden: null };
  const mounted: string[] = [];
  const tryMount = (dir: string, opts: string) => {
    mkdirSync(dir, { recursive: true });
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir]);
    if (r.status === 0) mounted.push(dir);
    return r.status === 0;
  };
  for (const size of ['16k', '64k', '256k'])
    if (tryMount(join(root, `full-${size}`), `size=${size}`)) m.full.push(join(root, `full-${size}`));
  if (tryMount(join(root, 'ro'), 'ro,size=64k')) m.readOnly = join(root, 'ro');
  // Permissions do not stop root: the command runs as nobody against a folder only root may write.
  if (
    process.getuid?.() === 0 &&
    spawnSync('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']).status === 0
  ) {
    mkdirSync(join(root, 'forbidden'));
    chmodSync(join(root, 'forbidden'), 0o555);
    m.forbidden = join(root, 'forbidden');
  }
  const undo = () => {
    for (const d of mounted) spawnSync('umount', [d]);
  };
  return { m, undo };
}
