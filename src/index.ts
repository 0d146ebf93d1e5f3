// The convts library: the numerical core (tensors, kernels, layers, losses, optimizers, models)
// plus the Node-side data readers, training loop and model files.
export * from './errors.js';
export { Tensor, sizeOf, shapeStr, type Shape } from './tensor/tensor.js';
export { Rng } from './tensor/rng.js';
export { kernels, useKernels, referenceKernels, type Kernels, type ConvGeom, type PoolGeom, type Activation } from './kernels/index.js';
export { Layer, type Param, type BuildContext } from './layers/layer.js';
export { Conv2d, type Conv2dSpec } from './layers/conv2d.js';
export { MaxPool2d } from './layers/maxpool2d.js';
export { AvgPool2d } from './layers/avgpool2d.js';
export type { Pool2dSpec } from './layers/pool2d.js';
export { Dense, type DenseSpec } from './layers/dense.js';
export { Flatten } from './layers/flatten.js';
export { ActivationLayer } from './layers/activation.js';
export { Softmax } from './layers/softmax.js';
export { Dropout, type DropoutSpec } from './layers/dropout.js';
export { losses, softmaxCrossEntropy, binaryCrossEntropy, meanSquaredError, type LossFn, type LossKind } from './losses/index.js';
export * from './optim/index.js';
export { initParam, parseInit, type InitSpec } from './init/initializers.js';
export { validateSpec, type ModelSpec, type LayerSpec } from './model/spec.js';
export { buildModel, makeLayer, type BuildOptions } from './model/build.js';
export { Sequential, type NamedParam } from './model/sequential.js';
export { builtinSpec, builtinNames, type BuiltinOptions } from './model/builtins.js';
export { encodeSafetensors, decodeSafetensors, type NamedTensor } from './model/safetensors.js';
export { weightsToSafetensors, loadWeights } from './model/weights.js';
export * from './data/index.js';
export { train, evaluate, type TrainOptions, type TrainResult, type TrainState, type EpochMetrics, type Evaluation } from './train/trainer.js';
export { saveModel, loadModel } from './io/model-file.js';
export * from './features/index.js';
export { saveCheckpoint, loadCheckpoint, checkpointPath } from './io/checkpoint.js';
export { availableBackends, defaultKernels, fastestKernels, defaultThreads, type Backend } from './io/backends.js';

// Layers use the fastest kernels built on this machine (native, else wasm, else the reference
// TypeScript), unless $CONVTS_BACKEND picks one; useKernels() changes it at any time.
import { defaultKernels } from './io/backends.js';
import { useKernels } from './kernels/index.js';
useKernels(defaultKernels());
