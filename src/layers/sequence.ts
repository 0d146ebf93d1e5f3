// Running a list of layers, as a model and a residual block do: a batch norm and the ReLU, leaky ReLU
// or GELU after it run as one kernel (one pass over memory instead of two each way, and no tensor
// between them), and so does a max pooling after them (or right after the batch norm): its forward
// pools each plane while it is in cache, its backward reads the pooled gradient and the argmax
// directly. A max pooling right before a batch norm runs with it too: the pool's forward takes the sums
// for the batch statistics while its output is in cache, and the batch norm's backward passes its
// gradient through the argmax directly. The results are those of the layers run one by one, bit for bit. The fusion is how
// the layers run, not what they are: the layer list, the weights and every file stay the same.
import type { Tensor } from '../tensor/tensor.js';
import { ActivationLayer, InputActivationLayer } from './activation.js';
import { BatchNorm } from './batchnorm.js';
import type { Layer } from './layer.js';
import { MaxPool2d } from './maxpool2d.js';

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
    let l = layers[i];
    // A max pooling whose output only a batch norm takes (not one that pools its own output again).
    let before: MaxPool2d | null = null;
    if (fusion && l instanceof MaxPool2d && i + 1 < depth && layers[i + 1] instanceof BatchNorm) {
      const k = layers[i + 2] instanceof ActivationLayer || layers[i + 2] instanceof InputActivationLayer ? 3 : 2;
      if (!(i + k < depth && layers[i + k] instanceof MaxPool2d)) [before, l] = [l, layers[++i]];
    }
    if (!(fusion && l instanceof BatchNorm)) {
      y = l.forward(y, training);
      continue;
    }
    // The batch norm, then what it takes in: the activation after it, the max pooling after them.
    const next = i + 1 < depth ? layers[i + 1] : null;
    const act = next instanceof ActivationLayer || next instanceof InputActivationLayer ? next.fusable : null;
    if (act) i++;
    const pool = i + 1 < depth && layers[i + 1] instanceof MaxPool2d ? (layers[i + 1] as MaxPool2d) : null;
    if (pool) i++;
    y = l.forward(y, training, act, pool, before);
  }
  return y;
}

/**
 * Sets which layers compute their input gradient: none up to and including the first layer with a
 * parameter that trains (nothing before it would read the gradient), every layer after it.
 */
export function setPropagation(layers: readonly Layer[]): void {
  let trains = false;
  for (const l of layers) {
    l.propagateDown = trains;
    if (l.params.some((p) => !p.frozen)) trains = true;
  }
}

/**
 * layers[0, depth) backward, as the last forwardLayers ran them: returns dL/dx. Stops at the first
 * layer that does not propagate down (setPropagation): the layers before it have nothing to train.
 */
export function backwardLayers(layers: readonly Layer[], dy: Tensor, depth = layers.length): Tensor {
  let d = dy;
  for (let i = depth - 1; i >= 0; i--) {
    // A batch norm whose forward ran this layer too: its backward covers the layers in between.
    const k = [i - 1, i - 2].find((j) => {
      const bn = layers[j];
      return bn instanceof BatchNorm && j + bn.fusedLayers === i;
    });
    if (k !== undefined) i = k;
    const l = layers[i];
    d = l.backward(d);
    if (l instanceof BatchNorm) i -= l.fusedBefore;
    if (!layers[i].propagateDown) break;
  }
  return d;
}
