// The campaign's scenarios that are not a damaged file: hostile flags and environment variables,
// disk faults (full, read-only, forbidden, /proc, /sys, ENOTDIR…) and Ctrl-C at random moments.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from './fuzz-case.js';
import { esc, pick } from './fuzz-damage.js';
import { small, trainOn, withFlag } from './fuzz-files.js';

/** Flags of each command and values that break assumptions about them. */
const trainFlags = [
  'model',
  'activation',
  'pool',
  'filters',
  'loss',
  'init',
  'init-from',
  'dataset',
  'data-dir',
  'val',
  'train-limit',
  'test-limit',
  'subset',
  'normalize',
  'augment',
  'image-size',
  'channels',
  'features',
  'epochs',
  'batch-size',
  'optimizer',
  'lr',
  'momentum',
  'weight-decay',
  'schedule',
  'warmup',
  'label-smoothing',
  'clip-grad',
  'ema',
  'tta',
  'patience',
  'converge',
  'seed',
  'out',
  'log-every',
  'config',
  'resume',
];
const hostileValues = [
  '',
  ' ',
  '-1',
  '0',
  '1e9',
  '1e309',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '1.5',
  '-0',
  'abc',
  '🙂',
  'x'.repeat(300),
  '/proc/self/x',
  '/sys/kernel/x',
  '../../../../etc/passwd',
  '--lr',
  '1,2,3',
  '2147483648',
  '9007199254740993',
  'null',
  '{}',
  ',',
  ':',
  'folder:',
  'folder:/nonexistent',
  '30000x30000',
  '0x0',
  '3x',
  'step:0:0.5',
  'step:1e9:2',
  'cosine:x',
  'shift:99,flip',
  'normal:-1',
  'he-normal:1',
  '1e-45',
  '/dev/null',
  '/dev/zero',
  '/',
  '.',
];
// Values that are valid but make a run last for ever are not hostile: keep them small.
const endless = new Set(['epochs', 'patience', 'converge', 'warmup', 'log-every']);

export function flagsScenario(): Scenario {
  return {
    name: 'flags (train, features, predict, show, eval, import, sweep)',
    make: (d, rng) => {
      const n = 1 + rng.int(2);
      const cmd = rng.int(10);
      const base: string[] =
        cmd < 5
          ? trainOn(d)
          : cmd === 5
            ? ['features', '--bank', 'lm', '--dataset', 'mnist', '--data-dir', d, '--out', join(d, 'g.feat')]
            : cmd === 6
              ? ['predict', join(d, 'run'), join(d, 'img.png')]
              : cmd === 7
                ? [
                    'show',
                    pick(rng, ['filters', 'maps', 'curves', 'confusion', 'misclassified']),
                    join(d, 'run'),
                    '--data-dir',
                    d,
                    '--out',
                    join(d, 'x.png'),
                  ]
                : cmd === 8
                  ? ['eval', join(d, 'run'), '--data-dir', d]
                  : ['import', join(d, 'model.onnx'), '--out', join(d, 'imported')];
      const flagsOf = [
        trainFlags,
        trainFlags,
        trainFlags,
        trainFlags,
        trainFlags,
        [
          'bank',
          'size',
          'scales',
          'count',
          'pool',
          'bias',
          'activation',
          'image',
          'show-filters',
          'show-maps',
          'pictures',
          'out',
        ],
        ['top', 'invert', 'frame'],
        ['layer', 'filter', 'index', 'count', 'dataset', 'test-limit', 'out'],
        ['data-dir', 'dataset', 'test-limit', 'batch-size', 'tta'],
        ['dataset', 'mean', 'std', 'input-shape', 'out'],
      ][cmd];
      const args = [...base];
      const notes: string[] = [];
      const culprits: string[] = [];
      for (let i = 0; i < n; i++) {
        const flag = pick(rng, flagsOf);
        let value = pick(rng, hostileValues);
        if (endless.has(flag) && /^(1e9|1e309|Infinity|2147483648|9007199254740993)$/.test(value)) value = '0';
        args.push(`--${flag}`, value);
        notes.push(`--${flag} ${JSON.stringify(value.slice(0, 20))}`);
        culprits.push(esc(flag));
      }
      if (rng.int(8) === 0) {
        args.push(`--${pick(rng, ['lrr', 'epoch', 'x', 'h2', ''])}`);
        notes.push('an unknown flag');
        culprits.push('flag|option|unknown');
      }
      // A message may name the flag, the value's file (a path given as the value) or what it was for.
      return {
        args,
        culprit: new RegExp(`${culprits.join('|')}|/|\\.json|file|folder|image|data|run|model|layer`, 'i'),
        note: notes.join(' '),
      };
    },
  };
}

const envValues: Record<string, string[]> = {
  CONVTS_THREADS: ['0', '-1', '1e9', '1000000000', 'abc', ' ', '2.5', '0x2', '9', '2', '1'],
  CONVTS_BACKEND: ['gpu', 'NATIVE', 'reference', 'wasm', 'native', ' ', '../x'],
  CONVTS_MEMORY_BUDGET: ['0', '1', '1k', 'abc', '-5', '1e30', '512M', '1T', '10', '2G', ' '],
  CONVTS_DATA_DIR: ['/proc', '/nonexistent', 'a:b', '/dev/null', '', ':::', '/sys'],
  CONVTS_NATIVE_VARIANT: ['avx9', 'baseline', 'avx2', ''],
  CONVTS_OFFLINE: ['0', '1', 'yes'],
  HOME: ['/nonexistent', '', '/proc'],
  XDG_CACHE_HOME: ['/proc', '/nonexistent', ''],
  TMPDIR: ['/proc', '/nonexistent'],
};

export function envScenario(): Scenario {
  return {
    name: 'environment variables',
    make: (d, rng) => {
      const name = pick(rng, Object.keys(envValues));
      const value = pick(rng, envValues[name]);
      // Without --data-dir half the time, so that the data-dir variables are what convts reads.
      const args = rng.int(2)
        ? trainOn(d)
        : trainOn(d).filter((a, i, all) => a !== '--data-dir' && all[i - 1] !== '--data-dir');
      return {
        args,
        env: { [name]: value },
        culprit: new RegExp(`${name}|mnist|data|not found|missing`, 'i'),
        note: `${name}=${JSON.stringify(value)}${args.includes('--data-dir') ? '' : ' (no --data-dir)'}`,
      };
    },
  };
}

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

export function sigintScenario(): Scenario {
  return {
    name: 'Ctrl-C at a random moment (train, features, sweep)',
    make: (d, rng) => {
      const cmd = rng.int(5);
      const args =
        cmd < 3
          ? withFlag(trainOn(d), 'epochs', '20')
          : cmd === 3
            ? [
                'features',
                '--bank',
                'lm',
                '--dataset',
                'mnist',
                '--data-dir',
                d,
                '--out',
                join(d, 'g.feat'),
                '--pictures',
                join(d, 'pics2'),
              ]
            : [
                'sweep',
                '--dataset',
                'mnist',
                '--data-dir',
                d,
                ...small,
                '--grid',
                'lr=0.01,0.1',
                '--jobs',
                '1',
                '--out',
                join(d, 'sw2'),
              ];
      const after = rng.int(4000);
      const twice = rng.int(3) === 0 ? 1 + rng.int(300) : undefined;
      return {
        args,
        sigint: { after, twice },
        culprit: /./,
        note: `${args[0]}, SIGINT after ${after} ms${twice ? ` and again ${twice} ms later` : ''}`,
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
