// Running a list of layers, as a model and a residual block do: a batch norm and the ReLU, leaky ReLU
// or GELU after it run as one kernel (one pass over memory instead of two each way, and no tensor
// between them), with the results of the two layers run one by one, bit for bit. The fusion is how
// the layers run, not what they are: the layer list, the weights and every file stay the same.
import type { Tensor } from '../tensor/tensor.js';
import { ActivationLayer, InputActivationLayer } from './activation.js';
import { BatchNorm } from './batchnorm.js';
import type { Layer } from './layer.js';

let fusion = true;

/** Turns the fusion off (or on again) for every model: to time the difference, or to compare. */
export function setBatchNormFusion(on: boolean): void {
  fusion = on;
}

export function batchNormFusion(): boolean {
  return fusion;
}

/** layers[0, depth) forward. */
export function forwardLayers(layers: readonly Layer[], x: Tensor, training: boolean, depth = layers.length): Tensor {
  let y = x;
  for (let i = 0; i < depth; i++) {
    const l = layers[i];
    const next = i + 1 < depth ? layers[i + 1] : null;
    const act =
      fusion && l instanceof BatchNorm && (next instanceof ActivationLayer || next instanceof InputActivationLayer)
        ? next.fusable
        : null;
    if (l instanceof BatchNorm) y = l.forward(y, training, act);
    else y = l.forward(y, training);
    if (act) i++;
  }
  return y;
}

/** layers[0, depth) backward, as the last forwardLayers ran them: returns dL/dx. */
export function backwardLayers(layers: readonly Layer[], dy: Tensor, depth = layers.length): Tensor {
  let d = dy;
  for (let i = depth - 1; i >= 0; i--) {
    const before = layers[i - 1];
    if (before instanceof BatchNorm && before.fusedActivation) {
      d = before.backward(d); // the activation's gradient too
      i--;
    } else d = layers[i].backward(d);
  }
  return d;
}
