import { DataFormatError } from '../errors.js';
import { shapeStr } from '../tensor/tensor.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';
import type { Sequential } from './sequential.js';

/** Every saved tensor of the model, parameters then buffers, under its state-dict name. */
export function modelState(model: Sequential): NamedTensor[] {
  return [
    ...model.namedParams().map(({ name, param: t }) => ({ name, shape: [...t.value.shape], data: t.value.data })),
    ...model
      .namedBuffers()
      .map(({ name, buffer: t }) => ({ name, shape: [...t.value.shape], data: t.value.data, dtype: t.dtype })),
  ];
}

/** The model's weights and buffers as safetensors bytes, PyTorch state-dict names, layouts and dtypes. */
export function weightsToSafetensors(model: Sequential): Uint8Array {
  return encodeSafetensors(modelState(model), { format: 'convts', version: '1' });
}

/**
 * Loads safetensors weights into a built model. Every parameter must be present with its exact
 * shape, and nothing else may be (like PyTorch's strict load_state_dict).
 */
export function loadWeights(model: Sequential, bytes: Uint8Array, source = 'weights'): void {
  const { tensors } = decodeSafetensors(bytes, source);
  const params = modelState(model);
  const missing = params.filter((p) => !tensors.has(p.name)).map((p) => p.name);
  const known = new Set(params.map((p) => p.name));
  const unexpected = [...tensors.keys()].filter((k) => !known.has(k));
  if (missing.length || unexpected.length) {
    throw new DataFormatError(
      `${source}: does not fit the model —` +
        (missing.length ? ` missing ${missing.join(', ')};` : '') +
        (unexpected.length ? ` unexpected ${unexpected.join(', ')};` : '') +
        ` the model has ${[...known].join(', ')}`,
    );
  }
  for (const { name, shape: want, dtype } of params) {
    const t = tensors.get(name)!;
    if (t.data instanceof Int32Array && dtype !== 'I64')
      throw new DataFormatError(`${source}: tensor "${name}" holds integers (I32) — weights must be floating point`);
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new DataFormatError(
        `${source}: tensor "${name}" has shape ${shapeStr(t.shape)}, the model needs ${shapeStr(want)} — the weights belong to another architecture`,
      );
    }
  }
  for (const { name, data } of params) data.set(tensors.get(name)!.data);
}
