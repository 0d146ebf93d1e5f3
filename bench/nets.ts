// The networks `convts bench` times: the report's built-ins by name, the spec models of models/ by name,
// or any spec file; and what one image costs in floating-point operations, so that a rate in images/s
// can be read as GFLOP/s beside the machine's gemm peak (bench/peak.ts).
import { existsSync } from 'node:fs';
import { specModelPath, specModels } from '../src/cli/spec-models.js';
import { ConfigError, DataFormatError, UsageError } from '../src/errors.js';
import { readJsonFile } from '../src/files/json.js';
import type { ConvGeom } from '../src/kernels/kernels.js';
import { Conv2d } from '../src/layers/conv2d.js';
import { Dense } from '../src/layers/dense.js';
import type { Layer } from '../src/layers/layer.js';
import { Residual } from '../src/layers/residual.js';
import { builtinSpec } from '../src/model/builtins.js';
import type { Sequential } from '../src/model/sequential.js';
import { type ModelSpec, validateSpec } from '../src/model/spec.js';

export const benchBuiltins = ['seed-mnist', 'seed-cifar'] as const;

export interface BenchNet {
  name: string;
  spec: ModelSpec;
  /** What tools/bench_torch.py builds: a built-in's name or the spec file's path. */
  torchNet: string;
  /** Images in a training epoch of its data set (MNIST 60,000, CIFAR-10 50,000), when the input tells. */
  trainSize?: number;
}

/** A name of `benchBuiltins` or `specModels`, or the path of a spec file (.json). */
export function benchNet(arg: string): BenchNet {
  const known: readonly string[] = [...benchBuiltins, ...specModels];
  let spec: ModelSpec;
  let torchNet = arg;
  if ((benchBuiltins as readonly string[]).includes(arg)) spec = builtinSpec(arg);
  else if (known.includes(arg) || arg.endsWith('.json')) {
    torchNet = known.includes(arg) ? specModelPath(arg) : arg;
    if (!existsSync(torchNet))
      throw new UsageError(`--net: ${torchNet} not found — give ${known.join(', ')} or a spec file (.json)`);
    try {
      spec = validateSpec(readJsonFile(torchNet), torchNet);
    } catch (e) {
      // a broken spec file is a data problem (exit code 1), not a bad flag
      throw e instanceof ConfigError && !(e instanceof UsageError) ? new DataFormatError(e.message) : e;
    }
  } else throw new UsageError(`--net: "${arg}" is not one of ${known.join(', ')} or a spec file (.json)`);
  const [c, h, w] = spec.input;
  const trainSize = h === 28 && w === 28 && c === 1 ? 60000 : h === 32 && w === 32 && c === 3 ? 50000 : undefined;
  return { name: spec.name ?? arg, spec, torchNet, trainSize };
}

/** Multiply-add work of one image, in flops (2 per multiply-add), of the convolutions and dense layers. */
export interface Flops {
  /** A forward pass. */
  forward: number;
  /** A training step: forward, weight gradients, and input gradients where a layer passes them down. */
  train: number;
}

export function flopsPerImage(model: Sequential): Flops {
  return perImage(model, (l) => {
    const f = 2 * l.weight.value.size * (l instanceof Conv2d ? l.outShape[1] * l.outShape[2] : 1);
    return { forward: f, train: f * (l.propagateDown ? 3 : 2) };
  });
}

/** The Winograd tile side (2 or 4; 0 = direct) of each pass of a convolution on the native kernels: the addon's. */
export interface WinogradPaths {
  forward(g: ConvGeom): number;
  filter(g: ConvGeom): number;
}

/**
 * The multiply-adds the kernels actually perform for one image at a batch size, in flops: a pass on the
 * Winograd path does (m + 2)² per m×m tile of outputs and channel pair instead of 9m² (its transforms are
 * not counted), so flopsPerImage over time is then an effective rate and this the real one.
 */
export function performedFlopsPerImage(model: Sequential, batch: number, wino: WinogradPaths): Flops {
  return perImage(model, (l) => {
    const f = 2 * l.weight.value.size;
    if (l instanceof Dense) return { forward: f, train: f * (l.propagateDown ? 3 : 2) };
    // The layer keeps its geometry private; the bench reads it to count the same calls.
    const g = { ...(l as unknown as { geom: ConvGeom }).geom, n: batch };
    const pass = (m: number, oh: number, ow: number) =>
      m ? 2 * (m + 2) ** 2 * g.c * g.k * Math.ceil(oh / m) * Math.ceil(ow / m) : f * oh * ow;
    // The input gradient of a stride-1 layer is the forward convolution of dy with the flipped kernel.
    const t = { ...g, c: g.k, h: g.oh, w: g.ow, k: g.c, ph: g.kh - 1 - g.ph, pw: g.kw - 1 - g.pw, oh: g.h, ow: g.w };
    const forward = pass(wino.forward(g), g.oh, g.ow);
    const down = l.propagateDown ? pass(g.sh === 1 && g.sw === 1 ? wino.forward(t) : 0, g.h, g.w) : 0;
    return { forward, train: forward + pass(wino.filter(g), g.oh, g.ow) + down };
  });
}

function perImage(model: Sequential, cost: (l: Conv2d | Dense) => Flops): Flops {
  const sum: Flops = { forward: 0, train: 0 };
  const visit = (l: Layer) => {
    if (l instanceof Residual) {
      for (const b of [...l.body, ...(l.shortcut ? [l.shortcut] : [])]) visit(b);
      return;
    }
    if (!(l instanceof Conv2d || l instanceof Dense)) return;
    const f = cost(l);
    sum.forward += f.forward;
    sum.train += f.train;
  };
  for (const l of model.layers) visit(l);
  return sum;
}
