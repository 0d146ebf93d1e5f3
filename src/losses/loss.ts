export type LossKind = 'cross-entropy' | 'bce' | 'mse';

/**
 * A loss over class labels: reads `input` (logits for cross-entropy and bce, whose model-final
 * softmax/sigmoid is fused into the loss; outputs for mse), writes dL/dinput into `grad` and
 * returns the loss of the batch.
 */
export type LossFn = (
  grad: Float32Array,
  input: Float32Array,
  labels: ArrayLike<number>,
  n: number,
  classes: number,
  /** Label smoothing ε (cross-entropy only). */
  smoothing?: number,
) => number;
