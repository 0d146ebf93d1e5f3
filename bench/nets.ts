// The networks `convts bench` times: the report's built-ins by name, the spec models of models/ by name,
// or any spec file; and what one image costs in floating-point operations, so that a rate in images/s
// can be read as GFLOP/s beside the machine's gemm peak (bench/peak.ts).
import { existsSync } from 'node:fs';
import { specModelPath, specModels } from '../src/cli/spec-models.js';
import { ConfigError, DataFormatError, UsageError } from '../src/errors.js';
import { readJsonFile } from '../src/files/json.js';
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
  const sum: Flops = { forward: 0, train: 0 };
  const visit = (l: Layer) => {
    if (l instanceof Residual) {
      for (const b of [...l.body, ...(l.shortcut ? [l.shortcut] : [])]) visit(b);
      return;
    }
    let f = 0;
    if (l instanceof Conv2d) f = 2 * l.weight.value.size * l.outShape[1] * l.outShape[2];
    else if (l instanceof Dense) f = 2 * l.weight.value.size;
    sum.forward += f;
    sum.train += f * (l.propagateDown ? 3 : 2);
  };
  for (const l of model.layers) visit(l);
  return sum;
}
