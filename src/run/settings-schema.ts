import { Ajv } from 'ajv';
import { subsetModes } from '../data/prepare.js';
import { DataFormatError } from '../errors.js';
import { initKinds } from '../init/initializers.js';
import { optimizerKinds } from '../optim/index.js';
import type { TrainSettings } from './config.js';

// The JSON Schema of the training settings in a run's config.json, which --resume trains with: a
// value no flag can produce is refused here, naming the file and the field, rather than reaching
// the optimizer (a string weight decay crashed the native step). Each property's description is
// what the message says the field must be. The compiler checks the properties against
// TrainSettings (`satisfies`).

type Props<T> = { [K in keyof Required<T>]: object };

/**
 * Every value of the union T, as a list: the compiler refuses a list that misses one, so a value
 * added to a setting's type (a new --tta mode) cannot be refused here as damage.
 */
const allOf =
  <T>() =>
  <const V extends readonly T[]>(
    v: V & ([Exclude<T, V[number]>] extends [never] ? unknown : { missing: Exclude<T, V[number]> }),
  ) =>
    v;
const listed = (v: readonly unknown[]) =>
  v
    .map((x) => (x === null ? 'null' : String(x)))
    .join(', ')
    .replace(/, (\w+)$/, ' or $1');

const int = (min: number, what = `an integer ≥ ${min}`) => ({ type: 'integer', minimum: min, description: what });
const orNull = (s: { type: string; description: string }) => ({
  ...s,
  type: [s.type, 'null'],
  description: `${s.description} or null`,
});
const text = { type: 'string', description: 'a string' };
const flag = { type: 'boolean', description: 'true or false' };
const fraction = { type: 'number', minimum: 0, exclusiveMaximum: 1 };

const ttaValues = allOf<Exclude<TrainSettings['tta'], undefined>>()(['flip', 'flip-translate', 'translate', null]);

const settingsProperties = {
  model: { ...text, minLength: 1, description: 'a model name or spec file' },
  dataset: { ...text, minLength: 1, description: 'a data set name' },
  dataDir: text,
  features: orNull(text),
  trainLimit: orNull(int(1)),
  testLimit: orNull(int(1)),
  val: {
    oneOf: [
      { type: 'integer', minimum: 1 },
      { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
      { type: 'null' },
    ],
    description: 'a count ≥ 1, a fraction in (0, 1) or null',
  },
  subset: { enum: subsetModes, description: listed(subsetModes) },
  normalize: { enum: allOf<TrainSettings['normalize']>()(['zscore', 'unit']), description: 'zscore or unit' },
  flatten: flag,
  augment: {
    type: ['object', 'null'],
    required: ['shift', 'flip'],
    properties: {
      shift: { type: 'integer', minimum: 0 },
      flip: { type: 'boolean' },
      reflect: { type: 'boolean' },
      alternateFlip: { type: 'boolean' },
      rotate: { type: 'number', exclusiveMinimum: 0, maximum: 180 },
      scale: { type: 'number', exclusiveMinimum: 0, maximum: 0.9 },
    },
    description: '{"shift": pixels, "flip": true|false} or null',
  },
  imageSize: {
    type: ['array', 'null'],
    items: { type: 'integer', minimum: 1 },
    minItems: 2,
    maxItems: 2,
    description: '[height, width] or null',
  },
  channels: { enum: allOf<TrainSettings['channels']>()([1, 3, null]), description: '1, 3 or null' },
  maxPixels: orNull(int(1)),
  epochs: int(1),
  batchSize: int(1),
  optimizer: { enum: optimizerKinds, description: listed(optimizerKinds) },
  lr: { type: 'number', exclusiveMinimum: 0, description: 'a number > 0' },
  momentum: { type: 'number', minimum: 0, maximum: 1, description: 'a number in [0, 1]' },
  weightDecay: { type: 'number', minimum: 0, description: 'a number ≥ 0' },
  wdSkipNorm: flag,
  schedule: {
    type: 'object',
    required: ['kind'],
    oneOf: [
      { properties: { kind: { const: 'constant' } } },
      {
        required: ['stepSize', 'gamma'],
        properties: {
          kind: { const: 'step' },
          stepSize: { type: 'integer', minimum: 1 },
          gamma: { type: 'number', exclusiveMinimum: 0 },
        },
      },
      {
        required: ['epochs'],
        properties: {
          kind: { const: 'cosine' },
          epochs: { type: 'integer', minimum: 1 },
          minLr: { type: 'number', minimum: 0 },
          perBatch: { type: 'boolean' },
        },
      },
      {
        properties: {
          kind: { const: 'onecycle' },
          pctStart: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
          divFactor: { type: 'number', minimum: 1 },
          finalDivFactor: { type: 'number', minimum: 1 },
          anneal: { enum: ['cos', 'linear'] },
        },
      },
    ],
    description:
      '{"kind": "constant"}, {"kind": "step", "stepSize", "gamma"}, {"kind": "cosine", "epochs"} or {"kind": "onecycle", …}',
  },
  warmup: { type: ['number', 'null'], minimum: 0, description: 'a number ≥ 0 or null' },
  labelSmoothing: { ...fraction, type: ['number', 'null'], description: 'a number in [0, 1) or null' },
  clipGrad: { type: ['number', 'null'], exclusiveMinimum: 0, description: 'a number > 0 or null' },
  ema: {
    type: ['number', 'null'],
    exclusiveMinimum: 0,
    exclusiveMaximum: 1,
    description: 'a number in (0, 1) or null',
  },
  lookahead: {
    type: ['object', 'null'],
    required: ['every', 'decay'],
    properties: { every: { type: 'integer', minimum: 1 }, decay: fraction },
    description: '{"every": steps ≥ 1, "decay": a number in [0, 1)} or null',
  },
  tta: { enum: ttaValues, description: listed(ttaValues) },
  patience: orNull(int(1)),
  evalEvery: orNull(int(1)),
  convergence: {
    type: ['object', 'null'],
    required: ['tol', 'patience'],
    properties: { tol: { type: 'number', minimum: 0 }, patience: { type: 'integer', minimum: 1 } },
    description: '{"tol": a number ≥ 0, "patience": epochs ≥ 1} or null',
  },
  init: {
    type: 'object',
    required: ['kind'],
    oneOf: [
      { required: ['std'], properties: { kind: { const: 'normal' }, std: { type: 'number', minimum: 0 } } },
      { properties: { kind: { enum: initKinds.filter((k) => k !== 'normal') } } },
    ],
    description: `{"kind": ${initKinds.join('|')}} (normal with "std" ≥ 0)`,
  },
  initFrom: orNull(text),
  seed: int(0),
  logEvery: orNull(int(1)),
  spec: { description: 'a model spec' }, // checked by validateSpec, whose errors say more
} satisfies Props<TrainSettings>;

let validate: ((v: unknown) => boolean) | undefined;

/** Checks the training settings of config.json (`path`); the error names the file and the first bad field. */
export function checkTrainSettings(c: Record<string, unknown>, path: string): void {
  validate ??= new Ajv({ allowUnionTypes: true }).compile({ type: 'object', properties: settingsProperties });
  if (validate(c)) return;
  // The whole object failed: the first field that fails on its own is the one to name.
  const bad = (Object.keys(settingsProperties).find((k) => c[k] !== undefined && !validate!({ [k]: c[k] })) ??
    'spec') as keyof typeof settingsProperties;
  const got = JSON.stringify(c[bad]);
  throw new DataFormatError(
    `${path}: "${bad}" must be ${settingsProperties[bad].description}, got ${got.length > 80 ? `${got.slice(0, 77)}…` : got} — the run's settings are damaged, so it cannot be resumed`,
  );
}
