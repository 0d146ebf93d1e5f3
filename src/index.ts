// The convts library for Node: the whole core (./core.ts) plus data readers, Task 1 features, run
// directories (model files, checkpoints, summaries), ONNX export and import, and the loaders of the kernels built on this machine.

export type { Dataset } from './core.js';
export * from './core.js';
export * from './data/index.js';
export * from './features/index.js';
export {
  availableBackends,
  type Backend,
  defaultKernels,
  defaultThreads,
  fastestKernels,
  loadNativeAddon,
  loadWasmModule,
  loadWasmThreadedModule,
  spawnNodeWorker,
  startNodeWasmKernels,
} from './kernels/node-loader.js';
export { exportOnnx, type OnnxExportOptions } from './onnx/export.js';
export { importOnnx, type OnnxImport, type OnnxImportOptions } from './onnx/import.js';
export * from './run/index.js';

// Layers use the fastest kernels built on this machine (native, else wasm, else the reference
// TypeScript), unless $CONVTS_BACKEND picks one. Registering the choice loads nothing: it is made on
// the first layer call, and useKernels() overrides it at any time.
import { setDefaultKernels } from './kernels/index.js';
import { defaultKernels } from './kernels/node-loader.js';

setDefaultKernels(defaultKernels);
