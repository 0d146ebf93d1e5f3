// The campaign's interruptions: Ctrl-C (once, or twice in a row) at a random moment of a training,
// a feature extraction or a sweep.
import { join } from 'node:path';
import type { Scenario } from './fuzz-case.js';
import { small, trainOn, withFlag } from './fuzz-files.js';

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
