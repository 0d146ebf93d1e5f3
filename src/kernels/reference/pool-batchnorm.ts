// A max pooling with a batch norm after it (convts-cifar's order), as the kernels one by one: the
// reference for the native and WebAssembly kernels that run them in fewer passes.
import type { FusedActivation, PoolGeom } from '../kernels.js';
import { batchNormBackward, batchNormStats } from './normalization.js';
import { maxPool2dBackward, maxPool2dForward } from './pool2d.js';

/** maxPool2dForward, then batchNormStats of its output. */
export function maxPoolBatchNormStats(
  y: Float32Array,
  argmax: Int32Array,
  mean: Float32Array,
  variance: Float32Array,
  x: Float32Array,
  g: PoolGeom,
): void {
  maxPool2dForward(y, argmax, x, g);
  batchNormStats(mean, variance, y, g.n, g.c, g.oh * g.ow);
}

/** batchNormBackward (with the activation) of dy into dz, then maxPool2dBackward of dz into dx. */
export function maxPoolBatchNormBackward(
  dx: Float32Array | null,
  dgamma: Float32Array | null,
  dbeta: Float32Array | null,
  dz: Float32Array,
  dy: Float32Array,
  x: Float32Array,
  argmax: Int32Array,
  mean: Float32Array,
  invstd: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  act: FusedActivation | null,
  batchStats: boolean,
  g: PoolGeom,
): void {
  const fused = act && { act, beta };
  const { n, c } = g;
  const hw = g.oh * g.ow;
  batchNormBackward(dx || act ? dz : null, dgamma, dbeta, dy, x, mean, invstd, gamma, n, c, hw, batchStats, fused);
  if (dx) maxPool2dBackward(dx, dz, argmax, g);
}
