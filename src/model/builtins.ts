import { ConfigError } from '../errors.js';
import type { InitSpec } from '../init/initializers.js';
import type { Activation } from '../kernels/index.js';
import type { LayerSpec, ModelSpec } from './spec.js';

/** The knobs the report experimented with. */
export interface BuiltinOptions {
  activation?: Activation;
  pool?: 'max' | 'avg';
  /** Filters of the two conv layers (one number sets both). */
  filters?: number | [number, number];
  /** Output rule: softmax + cross-entropy, or sigmoid + binary cross-entropy. */
  loss?: 'cross-entropy' | 'bce';
  init?: InitSpec;
}

export const builtinNames = ['seed-mnist', 'seed-cifar', 'task1-fc'] as const;
export type BuiltinName = (typeof builtinNames)[number];

/** The report's networks as specs: seed-mnist, seed-cifar (two convs, a pool, two dense) and task1-fc. */
export function builtinSpec(name: string, o: BuiltinOptions = {}): ModelSpec {
  const act = o.activation ?? (name === 'task1-fc' ? 'sigmoid' : 'relu');
  const loss = o.loss ?? (name === 'task1-fc' ? 'bce' : 'cross-entropy');
  const init = o.init ?? { kind: act === 'relu' ? 'he-normal' : 'glorot-normal' };
  const head: LayerSpec[] = [{ type: 'dense', units: 10 }, { type: loss === 'bce' ? 'sigmoid' : 'softmax' }];
  const [f1, f2] = typeof o.filters === 'number' ? [o.filters, o.filters] : (o.filters ?? []);
  const convNet = (input: number[], filters: number): ModelSpec => ({
    format: 'convts-model',
    version: 1,
    name,
    input,
    layers: [
      { type: 'conv2d', filters: f1 ?? filters, kernel: 5 },
      { type: act },
      { type: 'conv2d', filters: f2 ?? filters, kernel: 5 },
      { type: act },
      { type: o.pool === 'avg' ? 'avgpool2d' : 'maxpool2d', size: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 128 },
      { type: act },
      ...head,
    ],
    loss,
    init,
  });
  switch (name) {
    case 'seed-mnist':
      return convNet([1, 28, 28], 8);
    case 'seed-cifar':
      return convNet([3, 32, 32], 10);
    case 'task1-fc':
      return {
        format: 'convts-model',
        version: 1,
        name,
        input: [1296],
        layers: [{ type: 'dense', units: 256 }, { type: act }, { type: 'dense', units: 128 }, { type: act }, ...head],
        loss,
        init,
      };
    default:
      throw new ConfigError(`unknown model "${name}" — use one of ${builtinNames.join(', ')} or a spec file (.json)`);
  }
}

/**
 * A built-in network made for a data set: one output per class, and the data's sample shape as
 * input when it has the rank the network was made for (the conv nets take grey or colour
 * pictures of any size their layers can reduce; a size too small fails when the model is built,
 * naming the layer).
 */
export function fitToData(spec: ModelSpec, sampleShape: readonly number[], classes: number): ModelSpec {
  let head = -1;
  spec.layers.forEach((l, i) => {
    if (l.type === 'dense') head = i;
  });
  const layers = spec.layers.map((l, i) => (i === head ? ({ ...l, units: classes } as LayerSpec) : l));
  return { ...spec, input: sampleShape.length === spec.input.length ? [...sampleShape] : spec.input, layers };
}
