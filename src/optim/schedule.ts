import { ConfigError } from '../errors.js';

/**
 * Learning rate per epoch (0-based), as PyTorch's per-epoch schedulers:
 * constant; step (StepLR: lr·γ^⌊epoch/stepSize⌋); cosine (CosineAnnealingLR over `epochs`).
 */
export type ScheduleSpec =
  | { kind: 'constant' }
  | { kind: 'step'; stepSize: number; gamma: number }
  | { kind: 'cosine'; epochs: number; minLr?: number };

export function lrAt(s: ScheduleSpec, baseLr: number, epoch: number): number {
  switch (s.kind) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * s.gamma ** Math.floor(epoch / s.stepSize);
    case 'cosine': {
      const min = s.minLr ?? 0;
      const t = Math.min(epoch, s.epochs);
      return min + ((baseLr - min) * (1 + Math.cos((Math.PI * t) / s.epochs))) / 2;
    }
    default:
      throw new ConfigError(
        `unknown learning-rate schedule ${JSON.stringify((s as { kind: unknown }).kind)} — use constant, step or cosine`,
      );
  }
}
