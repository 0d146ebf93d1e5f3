import { ConfigError } from '../errors.js';
import type { Param } from '../layers/layer.js';
import type { Rng } from '../tensor/rng.js';

/**
 * How weights start. `normal` is the report's N(0, σ²); Glorot/Xavier scales by fanIn + fanOut,
 * He by fanIn (fans as PyTorch counts them: channels × kernel area); torch-default is PyTorch's
 * default for Conv2d and Linear weights. Biases always start at zero.
 */
export type InitSpec =
  | { kind: 'normal'; std: number }
  | { kind: 'glorot-normal' | 'glorot-uniform' | 'he-normal' | 'he-uniform' | 'torch-default' };

export const initKinds = [
  'normal',
  'glorot-normal',
  'glorot-uniform',
  'he-normal',
  'he-uniform',
  'torch-default',
] as const;

/** Whether v is a well-formed InitSpec (normal needs a std ≥ 0). */
export const isInitSpec = (v: unknown): v is InitSpec =>
  typeof v === 'object' &&
  v !== null &&
  initKinds.includes((v as { kind?: unknown }).kind as never) &&
  ((v as { kind: string }).kind !== 'normal' ||
    (typeof (v as { std?: unknown }).std === 'number' && (v as { std: number }).std >= 0));

/** Fills a parameter according to `init` (weights) or with zeros (biases). */
export function initParam(p: Param, init: InitSpec, rng: Rng): void {
  const w = p.value.data;
  if (p.startAt !== undefined) {
    w.fill(p.startAt);
    return;
  }
  if (p.name === 'bias') {
    w.fill(0);
    return;
  }
  switch (init.kind) {
    case 'normal':
      if (!(init.std >= 0)) throw new ConfigError(`init normal: std must be ≥ 0, got ${init.std}`);
      return fillNormal(w, init.std, rng);
    case 'glorot-normal':
      return fillNormal(w, Math.sqrt(2 / (p.fanIn + p.fanOut)), rng);
    case 'glorot-uniform':
      return fillUniform(w, Math.sqrt(6 / (p.fanIn + p.fanOut)), rng);
    case 'he-normal':
      return fillNormal(w, Math.sqrt(2 / p.fanIn), rng);
    case 'he-uniform':
      return fillUniform(w, Math.sqrt(6 / p.fanIn), rng);
    case 'torch-default': // PyTorch's Conv2d/Linear weights: kaiming_uniform_(a=√5) = U(±1/√fanIn)
      return fillUniform(w, 1 / Math.sqrt(p.fanIn), rng);
    default:
      throw new ConfigError(
        `unknown initializer ${JSON.stringify((init as { kind: unknown }).kind)} — use one of ${initKinds.join(', ')}`,
      );
  }
}

function fillNormal(w: Float32Array, std: number, rng: Rng): void {
  for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
}

function fillUniform(w: Float32Array, limit: number, rng: Rng): void {
  for (let i = 0; i < w.length; i++) w[i] = (2 * rng.uniform() - 1) * limit;
}

/** Parses "normal:0.01", "he-normal", … as given on a command line. */
export function parseInit(text: string): InitSpec {
  const [kind, arg] = text.split(':');
  if (kind === 'normal') {
    const std = arg === undefined ? 0.01 : Number(arg);
    if (!(std >= 0))
      throw new ConfigError(`init "${text}": the standard deviation must be a number ≥ 0, e.g. normal:0.01`);
    return { kind, std };
  }
  if ((initKinds as readonly string[]).includes(kind) && arg === undefined) return { kind } as InitSpec;
  throw new ConfigError(`unknown initializer "${text}" — use one of normal:<std>, ${initKinds.slice(1).join(', ')}`);
}
