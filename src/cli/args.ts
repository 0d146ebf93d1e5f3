import { ConfigError } from '../errors.js';

/** Parses a flag value as a number in a range, or says which flag is wrong and why. */
export function num(flag: string, v: string | undefined, fallback: number,
                    o: { int?: boolean; min?: number; max?: number } = {}): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  const ok = v.trim() !== '' && Number.isFinite(x) && (!o.int || Number.isInteger(x)) &&
    (o.min === undefined || x >= o.min) && (o.max === undefined || x <= o.max);
  if (!ok) {
    const kind = o.int ? 'an integer' : 'a number';
    const range = [o.min !== undefined ? ` ≥ ${o.min}` : '', o.max !== undefined ? ` ≤ ${o.max}` : ''].filter(Boolean).join(' and');
    throw new ConfigError(`--${flag}: expected ${kind}${range}, got "${v}"`);
  }
  return x;
}

/** Checks a flag value against a list of choices. */
export function choice<T extends string>(flag: string, v: string | undefined, choices: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) {
    throw new ConfigError(`--${flag}: "${v}" is not one of ${choices.join(', ')}`);
  }
  return v as T;
}
