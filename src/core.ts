// convts/core: the numerical core — tensors, kernels (the interface, the reference set and the
// WebAssembly loader), layers, losses, optimizers, initializers, models, safetensors and the training
// loop. It imports nothing from Node and does nothing on import: layers run on the reference kernels
// until useKernels() or useWasmKernels() chooses a faster set. test/core-entry.test.ts keeps it so.

export * from './errors.js';
export { type InitSpec, initParam, parseInit } from './init/initializers.js';
export { patchMoment, patchWhiteningWeights, symmetricEigen } from './init/whitening.js';
export {
  type Activation,
  type ConvGeom,
  type FusedActivation,
  type Kernels,
  kernels,
  type PoolGeom,
  referenceKernels,
  setDefaultKernels,
  useKernels,
  withKernels,
} from './kernels/index.js';
export { wasmKernels } from './kernels/wasm/index.js';
export {
  compileWasmKernels,
  packagedWasmUrl,
  type StartWasmOptions,
  startWasmKernels,
  useWasmKernels,
  type WasmKernelOptions,
  type WasmKernels,
  type WasmSource,
  wasmFiles,
} from './kernels/wasm/load.js';
export {
  canShareMemory,
  type PoolWorker,
  type SpawnWorker,
  spawnWebWorker,
  startWasmThreads,
  type WasmThreads,
} from './kernels/wasm/pool.js';
export { ActivationLayer, InputActivationLayer } from './layers/activation.js';
export { AvgPool2d } from './layers/avgpool2d.js';
export { BatchNorm, type BatchNormSpec } from './layers/batchnorm.js';
export { Conv2d, type Conv2dSpec } from './layers/conv2d.js';
export { Dense, type DenseSpec } from './layers/dense.js';
export { Dropout, type DropoutSpec } from './layers/dropout.js';
export { Flatten } from './layers/flatten.js';
export { GlobalPool } from './layers/global-pool.js';
export { type BuildContext, Layer, type LayerBuffer, type Param } from './layers/layer.js';
export { MaxPool2d } from './layers/maxpool2d.js';
export type { Pool2dSpec } from './layers/pool2d.js';
export { Residual, type ResidualSpec } from './layers/residual.js';
export { batchNormFusion, setBatchNormFusion } from './layers/sequence.js';
export { Softmax } from './layers/softmax.js';
export {
  binaryCrossEntropy,
  type LossFn,
  type LossKind,
  losses,
  meanSquaredError,
  softmaxCrossEntropy,
} from './losses/index.js';
export { allLayers, type BuildOptions, buildModel, makeLayer } from './model/build.js';
export { type BuiltinOptions, builtinNames, builtinSpec, fitToData } from './model/builtins.js';
export { foldBatchNorm } from './model/fold.js';
export { decodeSafetensors, encodeSafetensors, type NamedTensor } from './model/safetensors.js';
export { type NamedParam, Sequential, type Tta } from './model/sequential.js';
export { type LayerSpec, type ModelSpec, validateSpec } from './model/spec.js';
export { loadWeights, modelState, weightsToSafetensors } from './model/weights.js';
export * from './optim/index.js';
export { Rng } from './tensor/rng.js';
export { type Shape, shapeStr, sizeOf, Tensor } from './tensor/tensor.js';
export { initFromData } from './train/data-init.js';
export type { Dataset } from './train/dataset.js';
export {
  type EpochMetrics,
  type Evaluation,
  evaluate,
  type StepMetrics,
  type TrainOptions,
  type TrainResult,
  type TrainState,
  train,
} from './train/trainer.js';
