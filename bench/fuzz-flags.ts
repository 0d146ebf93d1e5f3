// The campaign's hostile command lines: each case gives one or two flags of a command values that
// break assumptions about them (empty, negative, huge, NaN, paths under /proc, …), sometimes with
// an unknown flag.
import { join } from 'node:path';
import type { Rng } from '../src/tensor/rng.js';
import type { Scenario } from './fuzz-case.js';
import { esc, pick } from './fuzz-damage.js';
import { trainOn } from './fuzz-files.js';

/** Flags of each command and values that break assumptions about them. */
const trainFlags = (
  'model activation pool filters loss init init-from dataset data-dir val train-limit test-limit ' +
  'subset normalize augment image-size channels features epochs batch-size optimizer lr momentum ' +
  'weight-decay schedule warmup label-smoothing clip-grad ema tta patience converge seed out ' +
  'log-every config resume'
).split(' ');
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

/** A command line to add flags to, and the flags that command takes; `rng` picks among variants. */
type Command = { args: (d: string, rng: Rng) => string[]; flags: string[] };
const train: Command = { args: (d) => trainOn(d), flags: trainFlags };
// Train five times in ten: it reads the most flags.
const commands: Command[] = [
  train,
  train,
  train,
  train,
  train,
  {
    args: (d) => ['features', '--bank', 'lm', '--dataset', 'mnist', '--data-dir', d, '--out', join(d, 'g.feat')],
    flags: 'bank size scales count pool bias activation image show-filters show-maps pictures out'.split(' '),
  },
  { args: (d) => ['predict', join(d, 'run'), join(d, 'img.png')], flags: ['top', 'invert', 'frame'] },
  {
    args: (d, rng) => {
      const what = pick(rng, ['filters', 'maps', 'curves', 'confusion', 'misclassified']);
      return ['show', what, join(d, 'run'), '--data-dir', d, '--out', join(d, 'x.png')];
    },
    flags: ['layer', 'filter', 'index', 'count', 'dataset', 'test-limit', 'out'],
  },
  {
    args: (d) => ['eval', join(d, 'run'), '--data-dir', d],
    flags: ['data-dir', 'dataset', 'test-limit', 'batch-size', 'tta'],
  },
  {
    args: (d) => ['import', join(d, 'model.onnx'), '--out', join(d, 'imported')],
    flags: ['dataset', 'mean', 'std', 'input-shape', 'out'],
  },
];

export function flagsScenario(): Scenario {
  return {
    name: 'flags (train, features, predict, show, eval, import, sweep)',
    make: (d, rng) => {
      const n = 1 + rng.int(2);
      const command = commands[rng.int(10)];
      const base = command.args(d, rng);
      const flagsOf = command.flags;
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
