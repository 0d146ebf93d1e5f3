import { binaryCrossEntropy } from './bce.js';
import { softmaxCrossEntropy } from './cross-entropy.js';
import type { LossFn, LossKind } from './loss.js';
import { meanSquaredError } from './mse.js';

export type { LossFn, LossKind } from './loss.js';
export { binaryCrossEntropy, meanSquaredError, softmaxCrossEntropy };

export const losses: Record<LossKind, LossFn> = {
  'cross-entropy': softmaxCrossEntropy,
  bce: binaryCrossEntropy,
  mse: meanSquaredError,
};
