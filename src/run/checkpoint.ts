import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataFormatError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { readFileChecked } from '../files/checked.js';
import { formatVersion, parseJson } from '../files/json.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../model/safetensors.js';
import type { Sequential } from '../model/sequential.js';
import { modelState } from '../model/weights.js';
import type { BestSoFar } from '../train/recipe.js';
import type { TrainState } from '../train/trainer.js';

// A checkpoint is one safetensors file, so a single atomic rename makes it appear whole: the weights
// ("model.<name>"), the optimizer buffers ("optim.<k>.<i>"), the shuffle order ("order", int32) and
// everything else as JSON in the metadata. Checkpoints written before integers were stored as such
// hold the order as float32, exact below 2^24; they still load.

const FILE = 'checkpoint.safetensors';

/** Path of the checkpoint in a run directory. */
export const checkpointPath = (dir: string): string => join(dir, FILE);

/** Writes the model's weights and a stopped run's state to `<dir>/checkpoint.safetensors`. */
export function saveCheckpoint(dir: string, model: Sequential, s: TrainState): void {
  // Buffers stay float32 here: the checkpoint is ours, and float32 holds a batch count exactly.
  const tensors: NamedTensor[] = modelState(model).map((t) => ({
    name: `model.${t.name}`,
    shape: t.shape,
    data: t.data,
  }));
  s.optimizer.buffers.forEach((group, k) =>
    group.forEach((b, i) => tensors.push({ name: `optim.${k}.${i}`, shape: [b.length], data: b })),
  );
  tensors.push({ name: 'order', shape: [s.order.length], data: s.order });
  // The weight average ("ema.<k>") and the best weights so far ("best.<k>"), when the run keeps them.
  s.ema?.forEach((t, k) => tensors.push({ name: `ema.${k}`, shape: [t.length], data: t }));
  s.best?.weights.forEach((t, k) => tensors.push({ name: `best.${k}`, shape: [t.length], data: t }));
  const { order: _o, optimizer, ema, best, ...rest } = s;
  const meta = {
    ...rest,
    optimizerStep: optimizer.step,
    optimizerGroups: optimizer.buffers.map((g) => g.length),
    emaCount: ema?.length ?? 0,
    best: best ? { ...best, weights: best.weights.length } : null,
  };
  writeFileAtomic(
    checkpointPath(dir),
    encodeSafetensors(tensors, { format: 'convts-checkpoint', version: '1', state: JSON.stringify(meta) }),
  );
}

/** Loads a checkpoint's weights into `model` (built from the run's spec) and returns the state to resume from. */
export function loadCheckpoint(dir: string, model: Sequential): TrainState {
  const path = checkpointPath(dir);
  if (!existsSync(path))
    throw new ConfigError(`${path} not found — --resume takes a run directory that was stopped with Ctrl-C`);
  const { tensors, metadata } = decodeSafetensors(readFileChecked(path), path);
  if (metadata.format !== 'convts-checkpoint' || metadata.version !== '1' || !metadata.state) {
    throw new DataFormatError(
      `${path}: not a convts checkpoint (${formatVersion(metadata.format, metadata.version)}; expected "convts-checkpoint", "1")`,
    );
  }
  const get = (name: string, size: number): Float32Array => {
    const t = tensors.get(name);
    if (!t || t.data.length !== size || !(t.data instanceof Float32Array))
      // The model was built from config.json's spec: either file may be the damaged one.
      throw new DataFormatError(
        `${path}: tensor "${name}" ${t ? `has ${t.data.length} ${t.data instanceof Float32Array ? 'float32' : 'non-float32'} values` : 'is missing'}, the model in ${join(dir, 'config.json')} needs ${size} float32 values — one of the two files is damaged or from another run`,
      );
    return t.data;
  };
  for (const { name, data } of modelState(model)) data.set(get(`model.${name}`, data.length));
  const meta = parseJson(metadata.state, `${path} (metadata "state")`) as Omit<
    TrainState,
    'order' | 'optimizer' | 'ema' | 'best'
  > & {
    optimizerStep: number;
    optimizerGroups: number[];
    emaCount?: number;
    best?: (Omit<BestSoFar, 'weights'> & { weights: number }) | null;
  };
  const { optimizerStep, optimizerGroups, emaCount, best, ...rest } = meta;
  const list = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, k) => {
      const t = tensors.get(`${prefix}.${k}`);
      if (!(t?.data instanceof Float32Array))
        throw new DataFormatError(`${path}: tensor "${prefix}.${k}" is missing or not float32`);
      return t.data;
    });
  const ema = emaCount ? list('ema', emaCount) : null;
  const sizes = model.params().map((p) => p.value.size);
  const buffers = optimizerGroups.map((n, k) =>
    Array.from({ length: n }, (_, i) => get(`optim.${k}.${i}`, sizes[i]).slice()),
  );
  const order = tensors.get('order');
  if (!order) throw new DataFormatError(`${path}: the shuffle order is missing`);
  return {
    ...rest,
    order: Int32Array.from(order.data),
    optimizer: { step: optimizerStep, buffers },
    ema,
    best: best ? { ...best, weights: list('best', best.weights) } : null,
  };
}
