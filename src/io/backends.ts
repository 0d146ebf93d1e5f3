import { referenceKernels, type Kernels } from '../kernels/index.js';

/** A kernel set the bench and the trainer can pick, with the threads it runs on. */
export interface Backend {
  name: string;
  threads: number;
  kernels: Kernels;
}

/** Every kernel set this machine can run, fastest last; reference always, faster ones when built. */
export function availableBackends(): Backend[] {
  return [{ name: 'reference', threads: 1, kernels: referenceKernels }];
}
