import type { Kernels } from './kernels.js';
import { referenceKernels } from './reference/index.js';

export type { Activation, ConvGeom, FusedActivation, Kernels, PoolGeom, SgdStepOptions } from './kernels.js';
export { referenceKernels } from './reference/index.js';

let active: Kernels | null = null;
let pickDefault: (() => Kernels) | null = null;

/**
 * The kernel set layers use now. Until useKernels() chooses one, the first call takes the set the
 * registered default picker returns (the Node entry registers "fastest built"), else the reference.
 */
export function kernels(): Kernels {
  if (active === null) active = pickDefault?.() ?? referenceKernels;
  return active;
}

/** Makes `k` the kernel set every layer uses from now on. */
export function useKernels(k: Kernels): void {
  active = k;
}

/**
 * Sets how kernels() chooses when nothing was chosen yet; it runs lazily, on the first layer call,
 * so importing a module loads no binary. Has no effect once a set is in use.
 */
export function setDefaultKernels(pick: () => Kernels): void {
  pickDefault = pick;
}

/** A zeroed array of `length` floats, in the active kernel set's memory when it keeps arrays there. */
export function floats(length: number): Float32Array {
  return kernels().allocF32?.(length) ?? new Float32Array(length);
}

/** The same for integers. */
export function ints(length: number): Int32Array {
  return kernels().allocI32?.(length) ?? new Int32Array(length);
}

/** Runs f with `k` as the kernel set, then restores the set that was in use before (also on a throw). */
export function withKernels<T>(k: Kernels, f: () => T): T {
  const prev = kernels();
  useKernels(k);
  try {
    return f();
  } finally {
    useKernels(prev);
  }
}
