import type { Kernels } from './kernels.js';
import { referenceKernels } from './reference/index.js';

export type { Activation, ConvGeom, Kernels, PoolGeom, SgdStepOptions } from './kernels.js';
export { referenceKernels } from './reference/index.js';

let active: Kernels = referenceKernels;

/** The kernel set layers use now. */
export function kernels(): Kernels {
  return active;
}

/** Makes `k` the kernel set every layer uses from now on. */
export function useKernels(k: Kernels): void {
  active = k;
}
