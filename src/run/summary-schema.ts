import type { EpochMetrics } from '../train/trainer.js';
import type { MachineInfo } from './machine.js';
import type { CompletedSummary, DivergedSummary, InterruptedSummary } from './summary.js';

// The JSON Schema of summary.json, published as docs/summary.schema.json (a test checks that the
// file is this object). Each variant's properties are checked against its TypeScript type by the
// compiler (`satisfies`): a field added to one and not the other does not build.

type Props<T> = { [K in keyof Required<T>]: object };

const fraction = { $ref: '#/definitions/fraction' };
const count = { $ref: '#/definitions/count' };

const epochProperties = {
  epoch: { type: 'integer', minimum: 1 },
  lr: { type: 'number', exclusiveMinimum: 0 },
  trainLoss: { type: 'number', minimum: 0 },
  trainAccuracy: fraction,
  testLoss: { type: ['number', 'null'], minimum: 0 },
  testAccuracy: { oneOf: [fraction, { type: 'null' }] },
  testSplitLoss: { type: 'number', minimum: 0, description: 'the test split, when evaluated beside a validation set' },
  testSplitAccuracy: fraction,
  seconds: { type: 'number', minimum: 0 },
  evalSeconds: { type: 'number', minimum: 0 },
} satisfies Props<EpochMetrics>;

const machineProperties = {
  cpus: { type: 'integer', minimum: 1 },
  cpuModel: { type: 'string' },
  node: { type: 'string' },
  platform: { type: 'string' },
} satisfies Props<MachineInfo>;

const completedProperties = {
  status: { const: 'completed' },
  model: { type: 'string', description: 'built-in model name or spec file, as given to --model' },
  dataset: { type: 'string' },
  trainSize: { type: 'integer', minimum: 1 },
  testSize: { type: 'integer', minimum: 1 },
  epochs: {
    type: 'integer',
    minimum: 1,
    description: 'epochs trained (fewer than asked when converged or out of patience)',
  },
  stoppedBy: { enum: ['epochs', 'converged', 'patience'] },
  trainLoss: { type: 'number', minimum: 0 },
  trainAccuracy: fraction,
  testLoss: { type: 'number', minimum: 0 },
  testAccuracy: fraction,
  classNames: { type: 'array', items: { type: 'string' }, minItems: 1 },
  confusionMatrix: {
    description: 'rows = true class, columns = predicted class, counts over the evaluation set',
    type: 'array',
    items: { type: 'array', items: count },
  },
  perEpoch: { type: 'array', minItems: 1, items: { $ref: '#/definitions/epoch' } },
  parameters: { type: 'integer', minimum: 0 },
  seconds: { type: 'number', minimum: 0 },
  trainImagesPerSecond: { type: 'number', exclusiveMinimum: 0 },
  seed: { type: 'integer', minimum: 0 },
  machine: { type: 'object', required: Object.keys(machineProperties), properties: machineProperties },
  evaluatedOn: { enum: ['test', 'validation'] },
  testSplit: {
    description:
      'with a validation hold-out (evaluatedOn "validation"): the test split evaluated beside it, with the final weights',
    type: 'object',
    additionalProperties: false,
    required: ['name', 'size', 'loss', 'accuracy'],
    properties: {
      name: { type: 'string' },
      size: { type: 'integer', minimum: 1 },
      loss: { type: 'number', minimum: 0 },
      accuracy: fraction,
    },
  },
  warnings: {
    description: 'signs that training failed to learn (an exploding loss, accuracy at chance) and what to try',
    type: 'array',
    items: { type: 'string' },
  },
} satisfies Props<CompletedSummary>;

const divergedProperties = {
  status: { const: 'diverged' },
  error: { type: 'string' },
  epoch: { type: 'integer', minimum: 1 },
  step: { type: 'integer', minimum: 1 },
} satisfies Props<DivergedSummary>;

const interruptedProperties = {
  status: { const: 'interrupted' },
  epoch: { type: 'integer', minimum: 1, description: 'the epoch in progress (1-based)' },
  image: { ...count, description: 'images of that epoch already trained on' },
  of: { type: 'integer', minimum: 1 },
  resume: { type: 'string', description: 'the command that continues the run' },
} satisfies Props<InterruptedSummary>;

const strict = (properties: object, optional: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  properties,
});

export const summarySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://github.com/convts/convts/docs/summary.schema.json',
  title: 'convts run summary (summary.json)',
  description:
    'Written by convts train into its run directory: the final numbers of a completed run, or why and where a run stopped.',
  type: 'object',
  required: ['status'],
  oneOf: [
    { $ref: '#/definitions/completed' },
    { $ref: '#/definitions/diverged' },
    { $ref: '#/definitions/interrupted' },
  ],
  definitions: {
    fraction: { type: 'number', minimum: 0, maximum: 1 },
    count: { type: 'integer', minimum: 0 },
    completed: strict(completedProperties, ['warnings', 'testSplit']),
    epoch: strict(epochProperties, ['testSplitLoss', 'testSplitAccuracy']),
    diverged: strict(divergedProperties),
    interrupted: strict(interruptedProperties),
  },
};
