// The campaign's environment variables: each case runs a training with one of convts's variables
// (or one it reads through Node: HOME, TMPDIR…) set to a value that breaks assumptions about it.
import type { Scenario } from './fuzz-case.js';
import { pick } from './fuzz-damage.js';
import { trainOn } from './fuzz-files.js';

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
