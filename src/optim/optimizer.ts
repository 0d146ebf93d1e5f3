import { floats } from '../kernels/index.js';
import type { Param } from '../layers/layer.js';

/** Updates parameters from their gradients; `lr` may be changed between steps by a schedule. */
export interface Optimizer {
  lr: number;
  step(params: readonly Param[]): void;
  /** Per-parameter buffers and step count, for checkpoints. */
  state(): OptimizerState;
  loadState(s: OptimizerState): void;
}

export interface OptimizerState {
  step: number;
  buffers: Float32Array[][];
}

/** One zeroed buffer per parameter, made on the first step. */
export function zeroBuffers(params: readonly Param[]): Float32Array[] {
  return params.map((p) => floats(p.value.size));
}
