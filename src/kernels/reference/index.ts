import type { Kernels } from '../kernels.js';
import { conv2dBackwardData, conv2dBackwardFilter, conv2dForward } from './conv2d.js';
import { denseBackward, denseForward } from './dense.js';
import {
  activationBackward,
  activationForward,
  add,
  geluBackward,
  geluForward,
  leakyReluBackward,
  leakyReluForward,
  mul,
  sgdStep,
  softmaxBackward,
  softmaxForward,
} from './elementwise.js';
import { gemm } from './gemm.js';
import {
  batchNormBackward,
  batchNormForward,
  batchNormMaxPoolBackward,
  batchNormMaxPoolForward,
  batchNormStats,
} from './normalization.js';
import { maxPoolBatchNormBackward, maxPoolBatchNormStats } from './pool-batchnorm.js';
import { avgPool2dBackward, avgPool2dForward, maxPool2dBackward, maxPool2dForward } from './pool2d.js';

/** Plain TypeScript kernels: the yardstick every faster kernel set is checked against. */
export const referenceKernels: Kernels = {
  name: 'reference',
  gemm,
  denseForward,
  denseBackward,
  conv2dForward,
  conv2dBackwardData,
  conv2dBackwardFilter,
  maxPool2dForward,
  maxPool2dBackward,
  avgPool2dForward,
  avgPool2dBackward,
  activationForward,
  activationBackward,
  softmaxForward,
  softmaxBackward,
  mul,
  add,
  leakyReluForward,
  leakyReluBackward,
  geluForward,
  geluBackward,
  batchNormStats,
  batchNormForward,
  batchNormBackward,
  batchNormMaxPoolForward,
  batchNormMaxPoolBackward,
  maxPoolBatchNormStats,
  maxPoolBatchNormBackward,
  sgdStep,
};
