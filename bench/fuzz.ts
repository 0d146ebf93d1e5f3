// The CLI-level fuzz campaign (npm run fuzz): damaged files of every format convts reads, hostile
// flags and environment variables, and faults (full disk, read-only and forbidden folders, /proc,
// a file where a folder should be, dangling links, Ctrl-C at random moments), each run as the
// command that meets it in a child process with a time limit and its peak memory measured; prints
// the table of outcomes that docs/reliability.md records.
// Flags: --cases N (per scenario) [70], --seed S [1], --jobs J [2], --only NAME,… (scenarios whose
// name contains one of these), --list (print each bad case in full).
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Rng } from '../src/tensor/rng.js';
import { writeCifarSet } from '../test/helpers/data-files.js';
import { fuzzFormats, fuzzSpec } from '../test/helpers/fuzz-formats.js';
import { patternImages, writeMnistDir } from '../test/helpers/mnist.js';
import { writeJpeg, writePng } from '../test/helpers/pictures.js';

const mainJs = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const timeLimit = 60_000;
const memoryLimit = 2 ** 30; // the goal: no input of ≤ 10 MB takes more than 1 GB

/** One run of convts: its arguments, extra environment, and what its message must name. */
interface Case {
  args: string[];
  env?: Record<string, string>;
  /** A refusal's message must match this (the damaged file, the flag, the variable…). */
  culprit: RegExp;
  /** What was done to the input, for the list of bad cases. */
  note: string;
  /** Send SIGINT after this many ms (and a second one `twice` ms later). */
  sigint?: { after: number; twice?: number };
  /** Run as user nobody (so that permissions apply: the campaign runs as root here). */
  nobody?: boolean;
  /** Exit 0 is wrong for this case (the input is certainly bad). */
  mustRefuse?: boolean;
  /** Paths outside the case folder to remove afterwards. */
  cleanup?: string[];
}

interface Scenario {
  name: string;
  /** Prepares case k in `dir` (a fresh copy of the base folder) and says how to run it. */
  make: (dir: string, rng: Rng, k: number) => Case;
}

type Outcome =
  | 'clean refusal'
  | 'accepted'
  | 'stack trace'
  | 'crash'
  | 'hang'
  | 'over 1 GB'
  | 'bad message'
  | 'bad input accepted'
  | 'debris';
const kinds: Outcome[] = [
  'clean refusal',
  'accepted',
  'stack trace',
  'crash',
  'hang',
  'over 1 GB',
  'bad message',
  'bad input accepted',
  'debris',
];

interface Result {
  outcome: Outcome;
  rssKb: number;
  code: number | null;
  detail: string;
}

const pick = <T>(rng: Rng, a: readonly T[]): T => a[rng.int(a.length)];
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Files a failed or interrupted command must not leave: temporary files of an atomic write, locks. */
function debris(dir: string, before: Set<string>, locksToo: boolean): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if ((/\.tmp-\d+$/.test(e.name) || (locksToo && /\.lock(\.\d+)?$/.test(e.name))) && !before.has(p))
        found.push(p);
    }
  };
  walk(dir);
  return found;
}

function listFiles(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.add(p);
    }
  };
  walk(dir);
  return out;
}

/** Runs convts with a time limit, measuring peak RSS with /usr/bin/time when present. */
function runCase(c: Case, cwd: string): Promise<Result> {
  const rssFile = join(cwd, '..', `${basename(cwd)}.rss`);
  rmSync(rssFile, { force: true });
  const timed = existsSync('/usr/bin/time');
  const node = [process.execPath, mainJs, ...c.args];
  const user = c.nobody ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const argv = [...(timed ? ['/usr/bin/time', '-f', '%M', '-o', rssFile] : []), ...user, ...node];
  const before = listFiles(cwd);
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd,
      env: { ...process.env, CONVTS_OFFLINE: '1', CONVTS_DATA_DIR: '', CONVTS_THREADS: '1', ...c.env },
    });
    let stderr = '';
    let hung = false;
    child.stderr.on('data', (b) => {
      if (stderr.length < 1e5) stderr += b;
    });
    child.stdout.resume();
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeLimit);
    // SIGINT goes to node itself (time and setpriv exec or pass signals on only for their child).
    const interrupt = () => {
      const kids = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n');
      const target = c.nobody || timed ? Number(kids.find(Boolean)) : child.pid;
      if (target) {
        try {
          process.kill(target, 'SIGINT');
        } catch {}
      }
    };
    const timers = c.sigint
      ? [
          setTimeout(interrupt, c.sigint.after),
          c.sigint.twice ? setTimeout(interrupt, c.sigint.after + c.sigint.twice) : null,
        ]
      : [];
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const t of timers) if (t) clearTimeout(t);
      const rssKb = existsSync(rssFile) ? Number(/(\d+)\s*$/.exec(readFileSync(rssFile, 'utf8'))?.[1] ?? 0) : 0;
      // `time` reports a signal death as "Command terminated by signal N" and exit code 128 + N.
      const exit = code ?? (signal ? 128 : 0);
      const killedBy = signal ?? (/terminated by signal (\d+)/.exec(stderr)?.[1] ? `signal` : null);
      // The message: its first line starts with "convts: " (a few explain on the next lines).
      const last = stderr.split('\n').find((l) => l.startsWith('convts: ')) ?? stderr.slice(0, 300);
      // A lock left by a process that Ctrl-C killed names a dead pid: the next writer takes it over.
      const left = debris(cwd, before, !c.sigint);
      const interruptedOk = c.sigint && exit === 130;
      let outcome: Outcome;
      if (hung) outcome = 'hang';
      else if (/\n\s+at |node:internal|^\w*Error: |^Uncaught/m.test(stderr)) outcome = 'stack trace';
      else if (killedBy || (exit > 2 && !interruptedOk)) outcome = 'crash';
      else if (rssKb * 1024 > memoryLimit) outcome = 'over 1 GB';
      else if (left.length) outcome = 'debris';
      else if (exit === 0) outcome = c.mustRefuse ? 'bad input accepted' : 'accepted';
      else if (interruptedOk) outcome = 'clean refusal';
      else if (
        !last.startsWith('convts: ') ||
        /\bundefined\b|\bNaN\b|\[object /.test(last) ||
        !c.culprit.test(stderr.slice(0, 1000))
      )
        outcome = 'bad message';
      else outcome = 'clean refusal';
      const extra = left.length ? ` left ${left.map((p) => p.slice(cwd.length + 1)).join(', ')}` : '';
      resolve({
        outcome,
        rssKb,
        code: exit,
        detail: `[${c.note}] exit ${code ?? signal}${extra}: ${last.slice(0, 240)}`,
      });
    });
  });
}

// ---- Damage ----

const edge = [0, 1, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** 1–4 of: bit flips, edge values in header fields, cuts, insertions, deletions, repeats. */
function damage(b: Uint8Array, rng: Rng): { bytes: Uint8Array; note: string } {
  let x = Uint8Array.from(b);
  const notes: string[] = [];
  for (let k = 1 + rng.int(4); k > 0; k--) {
    const i = rng.int(Math.max(1, x.length));
    const kind = rng.int(6);
    if (kind === 0 && x.length) {
      x[i] ^= 1 << rng.int(8);
      notes.push(`flip@${i}`);
    } else if (kind === 1) {
      const at = rng.int(Math.min(64, Math.max(1, x.length - 3)));
      const v = edge[rng.int(edge.length)];
      if (at + 4 <= x.length) new DataView(x.buffer).setUint32(at, v, rng.int(2) === 0);
      notes.push(`u32@${at}=${v}`);
    } else if (kind === 2) {
      x = x.slice(0, i);
      notes.push(`cut@${i}`);
    } else if (kind === 3) {
      const n = 1 + rng.int(16);
      x = Uint8Array.from([...x.subarray(0, i), ...Array.from({ length: n }, () => rng.int(256)), ...x.subarray(i)]);
      notes.push(`insert${n}@${i}`);
    } else if (kind === 4) {
      const n = 1 + rng.int(64);
      x = Uint8Array.from([...x.subarray(0, i), ...x.subarray(i + n)]);
      notes.push(`delete${n}@${i}`);
    } else if (x.length < 1 << 20) {
      x = Uint8Array.from([...x, ...x]);
      notes.push('doubled');
    }
  }
  return { bytes: x, note: notes.join(' ') };
}

/** Values that break assumptions about a JSON field. */
const hostileJson: unknown[] = [
  null,
  true,
  0,
  -1,
  0.5,
  1e308,
  -1e308,
  2 ** 31,
  2 ** 53 + 2,
  '',
  'x',
  'NaN',
  '1e9',
  '__proto__',
  'constructor',
  [],
  [0, 0],
  [null],
  {},
  { a: 1 },
  'é'.repeat(1000),
  [[[[[[[[[[]]]]]]]]]],
];

/** Replaces, removes or adds one field somewhere in a JSON value (or damages its text). */
function damageJson(text: string, rng: Rng): { text: string; note: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    const d = damage(new TextEncoder().encode(text), rng);
    return { text: new TextDecoder().decode(d.bytes), note: d.note };
  }
  if (rng.int(5) === 0) {
    const d = damage(new TextEncoder().encode(text), rng);
    return { text: new TextDecoder().decode(d.bytes), note: `bytes ${d.note}` };
  }
  // Every path to a value, then one of them changed.
  const paths: (string | number)[][] = [[]];
  const walk = (x: unknown, p: (string | number)[]) => {
    const entries: [string | number, unknown][] = Array.isArray(x)
      ? x.slice(0, 50).map((y, k) => [k, y])
      : x && typeof x === 'object'
        ? Object.entries(x)
        : [];
    for (const [k, y] of entries) {
      paths.push([...p, k]);
      walk(y, [...p, k]);
    }
  };
  walk(v, []);
  const path = rng.int(8) === 0 ? [] : pick(rng, paths.slice(1).length ? paths.slice(1) : paths);
  const kind = rng.int(4);
  const value = pick(rng, hostileJson);
  const set = (root: unknown): unknown => {
    if (!path.length) return value;
    let o = root as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    if (kind === 1 && !Array.isArray(o)) delete o[last];
    else if (kind === 2 && !Array.isArray(o)) o.__extra = value;
    else o[last] = value;
    return root;
  };
  const out = set(v);
  const what =
    kind === 1
      ? 'removed'
      : kind === 2
        ? `added __extra=${JSON.stringify(value)?.slice(0, 30)} beside`
        : `=${JSON.stringify(value)?.slice(0, 30)}`;
  return { text: JSON.stringify(out) ?? 'undefined', note: `${path.join('.') || '(root)'} ${what}` };
}

/** A JSON-lines file with one line damaged (or removed, or repeated, or cut). */
function damageJsonl(text: string, rng: Rng): { text: string; note: string } {
  const lines = text.split('\n').filter(Boolean);
  const i = rng.int(lines.length);
  const kind = rng.int(4);
  if (kind === 0) {
    const d = damageJson(lines[i], rng);
    lines[i] = d.text;
    return { text: `${lines.join('\n')}\n`, note: `line ${i + 1}: ${d.note}` };
  }
  if (kind === 1) return { text: `${lines.filter((_, j) => j !== i).join('\n')}\n`, note: `line ${i + 1} removed` };
  if (kind === 2) return { text: `${[...lines, lines[i]].join('\n')}\n`, note: `line ${i + 1} repeated` };
  return { text: lines.join('\n').slice(0, rng.int(text.length)), note: 'cut' };
}

// ---- Scenarios ----

interface FileTarget {
  name: string;
  /** The file the cases damage, relative to the case folder. */
  target: string;
  args: (dir: string) => string[];
  kind?: 'bytes' | 'json' | 'jsonl' | 'text';
  /** What a refusal must name [the file's name]. */
  culprit?: RegExp;
  /** convts may do without the file (missing or empty is a valid state, not bad input). */
  optional?: boolean;
}

/** Damaged copies of a valid file; the first cases put a folder, a dangling link (and a gzip bomb) there. */
function fileScenario(t: FileTarget): Scenario {
  const culprit = t.culprit ?? new RegExp(esc(basename(t.target).replace(/\.gz$/, '')));
  return {
    name: t.name,
    make: (dir, rng, k) => {
      const p = join(dir, t.target);
      const specials: [string, () => void][] = [
        [
          'a folder in its place',
          () => {
            rmSync(p, { recursive: true, force: true });
            mkdirSync(p);
          },
        ],
        [
          'a dangling link in its place',
          () => {
            rmSync(p, { force: true });
            symlinkSync(join(dir, 'nowhere'), p);
          },
        ],
        ['empty', () => writeFileSync(p, '')],
      ];
      if (t.target.endsWith('.gz'))
        specials.push([
          '200 MB gzip bomb behind its header',
          () =>
            writeFileSync(
              p,
              gzipSync(Buffer.concat([gunzipSync(readFileSync(p)).subarray(0, 16), Buffer.alloc(200 << 20)])),
            ),
        ]);
      if (k < specials.length) {
        specials[k][1]();
        return { args: t.args(dir), culprit, note: specials[k][0], mustRefuse: !t.optional || k === 0 };
      }
      const kind = t.kind ?? 'bytes';
      const valid = readFileSync(p);
      let note: string;
      if (kind === 'json') {
        const d = damageJson(valid.toString('utf8'), rng);
        writeFileSync(p, d.text);
        note = d.note;
      } else if (kind === 'jsonl') {
        const d = damageJsonl(valid.toString('utf8'), rng);
        writeFileSync(p, d.text);
        note = d.note;
      } else {
        const d = damage(valid, rng);
        writeFileSync(p, d.bytes);
        note = d.note;
      }
      return { args: t.args(dir), culprit, note };
    },
  };
}

const small = ['--epochs', '1', '--batch-size', '8'];
const trainOn = (d: string, ...more: string[]) => [
  'train',
  '--model',
  'seed-mnist',
  '--dataset',
  'mnist',
  '--data-dir',
  d,
  ...small,
  '--out',
  join(d, 'out'),
  ...more,
];

/** `args` with flag --name set to `value` (replaced when present, else added). */
function withFlag(args: string[], name: string, value: string): string[] {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? [...args, `--${name}`, value] : args.map((a, j) => (j === i + 1 ? value : a));
}

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

function flagsScenario(): Scenario {
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

function envScenario(): Scenario {
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
interface Mounts {
  full: string[];
  readOnly: string | null;
  forbidden: string | null;
}

function faultScenario(m: Mounts): Scenario {
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

function sigintScenario(): Scenario {
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

/** A folder with valid files of every format: tiny data sets, a bank, feature file, specs, runs, pictures, ONNX. */
async function makeBase(root: string): Promise<void> {
  writeMnistDir(root, 32, 16);
  // The same MNIST uncompressed, for the raw IDX reader.
  mkdirSync(join(root, 'raw', 'mnist'), { recursive: true });
  for (const f of readdirSync(join(root, 'mnist')))
    writeFileSync(join(root, 'raw', 'mnist', f.replace(/\.gz$/, '')), gunzipSync(readFileSync(join(root, 'mnist', f))));
  writeCifarSet(root, 5, 4, 8);
  writeCifarSet(join(root, 'gz'), 5, 4, 8, true);
  const npy = fuzzFormats.find((f) => f.name === '.npy')!.sample();
  writeFileSync(join(root, 'bank.npy'), npy);
  writeFileSync(join(root, 'spec.json'), JSON.stringify({ ...fuzzSpec, input: [1, 28, 28] }, null, 1));
  const block = [
    { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', bias: false },
    { type: 'batchnorm' },
    { type: 'relu' },
  ];
  const resnet = {
    format: 'convts-model',
    version: 1,
    input: [1, 28, 28],
    layers: [
      ...block,
      { type: 'residual', layers: block },
      {
        type: 'residual',
        layers: [{ ...block[0], stride: 2 }, block[1], block[2]],
        shortcut: { kernel: 1, stride: 2 },
      },
      { type: 'globalavgpool' },
      { type: 'dense', units: 10 },
    ],
    loss: 'cross-entropy',
  };
  writeFileSync(join(root, 'resnet.json'), JSON.stringify(resnet, null, 1));
  const img = patternImages(1, 3);
  writePng(join(root, 'img.png'), img.images, 1, 28, 28);
  writeJpeg(join(root, 'img.jpg'), img.images, 1, 28, 28, 90);
  // A folder data set: two classes, train and test.
  for (const split of ['train', 'test'])
    for (const c of ['a', 'b']) {
      mkdirSync(join(root, 'pics', split, c), { recursive: true });
      for (let i = 0; i < 4; i++) {
        const p = patternImages(1, 10 + i + (c === 'b' ? 100 : 0));
        writePng(join(root, 'pics', split, c, `${i}.png`), p.images, 1, 28, 28);
      }
    }
  writeFileSync(
    join(root, 'train.json'),
    JSON.stringify({ model: 'seed-mnist', dataset: 'mnist', lr: 0.05, epochs: 1, 'batch-size': 8 }),
  );
  writeFileSync(
    join(root, 'sweep.json'),
    JSON.stringify({ model: 'seed-mnist', dataset: 'mnist', epochs: 1, 'batch-size': 8 }),
  );
  const setup: string[][] = [
    ['features', '--bank', 'lm', '--dataset', 'mnist', '--data-dir', root, '--out', join(root, 'f.feat')],
    trainOn(root).map((a) => (a === join(root, 'out') ? join(root, 'run') : a)),
    ['export', join(root, 'run'), '--out', join(root, 'model.onnx')],
    [
      'sweep',
      '--config',
      join(root, 'sweep.json'),
      '--data-dir',
      root,
      '--grid',
      'lr=0.01',
      '--jobs',
      '1',
      '--out',
      join(root, 'sw'),
    ],
  ];
  for (const args of setup) {
    const r = await runCase({ args, culprit: /./, note: 'setup' }, root);
    if (r.outcome !== 'accepted') throw new Error(`setup failed: convts ${args.join(' ')}: ${r.detail}`);
  }
  // A run stopped by Ctrl-C after its first epoch (of two, on 2,000 images), with its checkpoint:
  // resuming it trains one more epoch.
  writeMnistDir(join(root, 'big'), 2000, 16);
  for (let tries = 0; !existsSync(join(root, 'ckpt', 'checkpoint.safetensors')); tries++) {
    if (tries > 5) throw new Error('setup failed: no checkpoint after Ctrl-C');
    rmSync(join(root, 'ckpt'), { recursive: true, force: true });
    const args = withFlag(
      withFlag(withFlag(trainOn(root), 'epochs', '2'), 'out', join(root, 'ckpt')),
      'data-dir',
      join(root, 'big'),
    );
    await new Promise<void>((done) => {
      const child = spawn(process.execPath, [mainJs, ...args], { env: { ...process.env, CONVTS_THREADS: '1' } });
      child.stdout.resume();
      child.stderr.on('data', (b) => {
        if (/epoch 1\/2/.test(String(b))) child.kill('SIGINT');
      });
      child.on('close', () => done());
    });
  }
}

async function mountFaults(root: string): Promise<{ m: Mounts; undo: () => void }> {
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string' },
      seed: { type: 'string' },
      jobs: { type: 'string' },
      only: { type: 'string' },
      list: { type: 'boolean' },
    },
  });
  const perScenario = Number(values.cases ?? 70);
  const rng = new Rng(Number(values.seed ?? 1));
  const jobs = Number(values.jobs ?? 2);
  const root = mkdtempSync(join(tmpdir(), 'convts-fuzz-'));
  chmodSync(root, 0o755); // the cases run as nobody read from here
  const base = join(root, 'base');
  mkdirSync(base);
  const started = Date.now();
  await makeBase(base);
  const { m, undo } = await mountFaults(root);
  process.on('SIGINT', () => {
    undo();
    process.exit(130);
  });
  const sc = (
    name: string,
    target: string,
    args: (d: string) => string[],
    kind?: FileTarget['kind'],
    culprit?: RegExp,
    optional?: boolean,
  ) => fileScenario({ name, target, args, kind, culprit, optional });
  const cifar = (dataDir: string) => (d: string) =>
    trainOn(d).map((a) =>
      a === 'seed-mnist' ? 'seed-cifar' : a === 'mnist' ? 'cifar-10' : a === d ? join(d, dataDir) : a,
    );
  const scenarios: Scenario[] = [
    sc('IDX .gz (train images)', 'mnist/train-images-idx3-ubyte.gz', (d) => trainOn(d)),
    sc('IDX .gz (test labels)', 'mnist/t10k-labels-idx1-ubyte.gz', (d) => trainOn(d)),
    sc('IDX raw (train labels)', 'raw/mnist/train-labels-idx1-ubyte', (d) =>
      trainOn(d).map((a) => (a === d ? join(d, 'raw') : a)),
    ),
    sc('IDX raw (test images)', 'raw/mnist/t10k-images-idx3-ubyte', (d) =>
      trainOn(d).map((a) => (a === d ? join(d, 'raw') : a)),
    ),
    sc('CIFAR batch', 'cifar-10/data_batch_1.bin', cifar('.')),
    sc('CIFAR batch .gz', 'gz/cifar-10/test_batch.bin.gz', cifar('gz')),
    sc('CIFAR batches.meta.txt', 'cifar-10/batches.meta.txt', cifar('.'), 'bytes', /batches\.meta\.txt|class/, true),
    sc('.npy filter bank', 'bank.npy', (d) => [
      'features',
      '--bank',
      join(d, 'bank.npy'),
      '--dataset',
      'mnist',
      '--data-dir',
      d,
      '--out',
      join(d, 'x.feat'),
    ]),
    sc('feature file', 'f.feat', (d) => trainOn(d, '--model', 'task1-fc', '--features', join(d, 'f.feat'))),
    sc('model spec JSON', 'spec.json', (d) => trainOn(d, '--model', join(d, 'spec.json')), 'json', /spec\.json|layer/),
    sc(
      'model spec JSON (batch norm, residual)',
      'resnet.json',
      (d) => trainOn(d, '--model', join(d, 'resnet.json')),
      'json',
      /resnet\.json|layer/,
    ),
    sc('run: model.safetensors', 'run/model.safetensors', (d) => ['eval', join(d, 'run'), '--data-dir', d]),
    sc(
      'run: model.json',
      'run/model.json',
      (d) => ['eval', join(d, 'run'), '--data-dir', d],
      'json',
      /model\.json|layer/,
    ),
    sc('run: config.json', 'run/config.json', (d) => ['eval', join(d, 'run'), '--data-dir', d], 'json'),
    sc(
      'run: summary.json',
      'run/summary.json',
      (d) => ['show', 'confusion', join(d, 'run'), '--out', join(d, 'c.png')],
      'json',
    ),
    sc(
      'run: metrics.jsonl',
      'run/metrics.jsonl',
      (d) => ['show', 'curves', join(d, 'run'), '--out', join(d, 'c.png')],
      'jsonl',
      undefined,
      true,
    ),
    sc('checkpoint.safetensors (--resume)', 'ckpt/checkpoint.safetensors', (d) => [
      'train',
      '--resume',
      join(d, 'ckpt'),
      '--data-dir',
      join(d, 'big'),
    ]),
    sc(
      'checkpoint run config.json (--resume)',
      'ckpt/config.json',
      (d) => ['train', '--resume', join(d, 'ckpt'), '--data-dir', join(d, 'big')],
      'json',
    ),
    sc('PNG (predict)', 'img.png', (d) => ['predict', join(d, 'run'), join(d, 'img.png')]),
    sc('JPEG (predict)', 'img.jpg', (d) => ['predict', join(d, 'run'), join(d, 'img.jpg')]),
    sc(
      'PNG in a folder data set',
      'pics/train/a/0.png',
      (d) => trainOn(d, '--dataset', `folder:${join(d, 'pics')}`),
      'bytes',
      /0\.png/,
    ),
    sc('ONNX (convts import)', 'model.onnx', (d) => ['import', join(d, 'model.onnx'), '--out', join(d, 'imported')]),
    sc(
      'train --config JSON',
      'train.json',
      (d) => ['train', '--config', join(d, 'train.json'), '--data-dir', d, '--out', join(d, 'out')],
      'json',
    ),
    sc(
      'sweep --config JSON',
      'sweep.json',
      (d) => [
        'sweep',
        '--config',
        join(d, 'sweep.json'),
        '--data-dir',
        d,
        '--grid',
        'lr=0.01',
        '--jobs',
        '1',
        '--out',
        join(d, 'sw3'),
      ],
      'json',
    ),
    sc(
      'sweep state (a trial summary.json)',
      'sw/lr-0.01/summary.json',
      (d) => [
        'sweep',
        '--config',
        join(d, 'sweep.json'),
        '--data-dir',
        d,
        '--grid',
        'lr=0.01',
        '--jobs',
        '1',
        '--out',
        join(d, 'sw'),
      ],
      'json',
      /summary\.json|lr-0\.01/,
      true,
    ),
    flagsScenario(),
    envScenario(),
    faultScenario(m),
    sigintScenario(),
  ].filter((s) => !values.only || values.only.split(',').some((o) => s.name.includes(o)));
  const table: { name: string; counts: Record<string, number>; peakKb: number; bad: string[]; accepted: string[] }[] =
    [];
  try {
    for (const s of scenarios) {
      const row = {
        name: s.name,
        counts: {} as Record<string, number>,
        peakKb: 0,
        bad: [] as string[],
        accepted: [] as string[],
      };
      table.push(row);
      const cases = Array.from({ length: perScenario }, (_, k) => k);
      const worker = async (w: number) => {
        const dir = join(root, `w${w}`);
        for (let k = cases.shift(); k !== undefined; k = cases.shift()) {
          rmSync(dir, { recursive: true, force: true });
          cpSync(base, dir, { recursive: true, verbatimSymlinks: true });
          chmodSync(dir, 0o755);
          const c = s.make(dir, rng, k);
          const r = await runCase(c, dir);
          for (const p of c.cleanup ?? []) rmSync(p, { recursive: true, force: true });
          row.counts[r.outcome] = (row.counts[r.outcome] ?? 0) + 1;
          row.peakKb = Math.max(row.peakKb, r.rssKb);
          if (r.outcome === 'accepted') row.accepted.push(r.detail);
          else if (r.outcome !== 'clean refusal') row.bad.push(`${r.outcome}: ${r.detail}`);
        }
      };
      await Promise.all(Array.from({ length: jobs }, (_, w) => worker(w)));
      for (const f of m.full) for (const e of readdirSync(f)) rmSync(join(f, e), { recursive: true, force: true });
      process.stderr.write(`${s.name}: ${JSON.stringify(row.counts)}, peak ${(row.peakKb / 1024).toFixed(0)} MB\n`);
      for (const b of row.bad) process.stderr.write(`  ${b}\n`);
    }
  } finally {
    undo();
    rmSync(root, { recursive: true, force: true });
  }
  const out = [
    `| input | cases | ${kinds.join(' | ')} | peak RSS |`,
    `| --- | --- | ${kinds.map(() => '---').join(' | ')} | --- |`,
  ];
  const total: Record<string, number> = {};
  let peak = 0;
  for (const r of table) {
    const n = Object.values(r.counts).reduce((a, b) => a + b, 0);
    for (const [k, v] of Object.entries(r.counts)) total[k] = (total[k] ?? 0) + v;
    peak = Math.max(peak, r.peakKb);
    out.push(
      `| ${r.name} | ${n} | ${kinds.map((k) => r.counts[k] ?? 0).join(' | ')} | ${(r.peakKb / 1024).toFixed(0)} MB |`,
    );
  }
  const n = Object.values(total).reduce((a, b) => a + b, 0);
  out.push(`| **all** | ${n} | ${kinds.map((k) => total[k] ?? 0).join(' | ')} | ${(peak / 1024).toFixed(0)} MB |`);
  process.stdout.write(`${out.join('\n')}\n\n${((Date.now() - started) / 60000).toFixed(0)} min\n`);
  for (const r of table)
    for (const b of values.list ? r.bad : r.bad.slice(0, 5)) process.stdout.write(`  ${r.name}: ${b}\n`);
  if (values.list)
    for (const r of table) for (const a of r.accepted) process.stdout.write(`  accepted, ${r.name}: ${a}\n`);
}

await main();
