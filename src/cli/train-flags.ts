/** `convts train`'s flags: the help text, the parse table and the types they produce. */
import { datasetNames, defaultDataDirText } from '../data/index.js';
import { builtinNames } from '../model/builtins.js';
import { optimizerKinds } from '../optim/index.js';
import type { TrainSettings } from '../run/index.js';
import { specModels } from './spec-models.js';

export const trainHelp = `convts train — train a model and write a run directory

Usage: convts train --model <name|spec.json> --dataset <name> [options]

Model
  --model NAME|FILE      ${[...builtinNames, ...specModels].join(', ')},
                         or a model spec .json                            [seed-mnist]
                         A spec's "recipe" (convts-mnist and convts-cifar have one) sets
                         the defaults of the flags below; --config and flags override it
  --activation A         relu, sigmoid or tanh (built-in models)          [relu]
  --pool P               max or avg (built-in models)                     [max]
  --filters N[,M]        filters of the two conv layers (built-in models)  [8]
  --loss L               cross-entropy (softmax) or bce (sigmoid)          [cross-entropy]
  --init I               normal:<std>, glorot-normal, glorot-uniform, he-normal, he-uniform
  --init-from RUN        start from a run's weights and normalization (e.g. convts import's);
                         its model too, unless --model is given
Data
  --dataset NAME         ${datasetNames.join(', ')}, or folder:DIR          [mnist]
                         (DIR/<class>/*.png|jpg; DIR/train and DIR/test if both exist)
  --data-dir DIR         folder holding <dataset>/, or a search path a:b
                         [${defaultDataDirText}]
  --offline              do not download missing files (also CONVTS_OFFLINE=1)
  --val N                hold out the last N training images (file order) and evaluate
                         on them instead of the test set (cifar-10: --val 10000 = data_batch_5);
                         --val 0.2 (or 20%) holds out a fifth of each class, drawn with a
                         fixed seed (the playground's hold-out); a test split that is here
                         is still reported beside them
  --train-limit N        train on N training images
  --test-limit N         evaluate on N images of the evaluation set
  --subset S             how limits pick images: first, random, stratified     [first]
  --normalize N          zscore (training-set mean/std per channel) or unit ([0,1]) [zscore]
  --flatten              feed images as flat vectors (for dense-only models)
  --augment A            off, default (cifar: crop pad 4 + flip; else shift 2),
                         or a list like shift:2,flip; shift:N:reflect mirrors the
                         borders, flip:alternate flips every other epoch;
                         rotate:D and scale:F add a random rotation by up to ±D°
                         and zoom by 1±F (bilinear), e.g. shift:2,rotate:10,scale:0.1 [off]
  --image-size H[xW]     resize folder images                   [first image's size]
  --channels 1|3         grey or RGB for folder images              [from the images]
  --max-pixels N         refuse folder images larger than N pixels, before decoding [50000000]
  --features FILE        train on a feature file made by convts features (task1-fc)
Training
  --epochs N             [1]
  --batch-size N         1 = the report's per-sample SGD          [32; task1-fc 1]
  --optimizer O          ${optimizerKinds.join(', ')}           [momentum; task1-fc sgd]
  --lr X                 learning rate   [0.01; 0.001 at batch size 1 or with adam; task1-fc 0.1]
  --momentum X           for momentum and nesterov                         [0.9]
  --weight-decay X       L2 penalty (adamw: decoupled decay)        [0; adamw 0.01]
  --wd-skip-norm         no weight decay on biases and batch-norm parameters
  --schedule S           constant, step:<epochs>:<gamma>, cosine (per epoch),
                         cosine:batch or onecycle[:PEAK[:DIV[:FINAL[:linear]]]] (per
                         batch: up from lr/DIV [25] to lr at the fraction PEAK [0.3] of
                         the steps, then down to lr/DIV/FINAL [1e4], along a cosine or
                         straight lines, as PyTorch's OneCycleLR)          [constant]
  --warmup E             linear warm-up over E epochs (fractions allowed), per batch
  --label-smoothing X    label smoothing of the cross-entropy loss         [0]
  --clip-grad X          clip the global gradient norm to X
  --ema D                evaluate and keep an exponential moving average of the
                         weights, decay D (e.g. 0.999)
  --lookahead K:D        lookahead as airbench trains: every K steps pull slow
                         weights towards the weights by 1 − D^K·(t/T)³ and restart
                         from them; the model ends on the slow weights (e.g. 5:0.95)
  --tta T                flip: evaluate on each image and its mirror image (mean
                         logits); flip-translate: also on the image moved 1 pixel
                         down-right and up-left (weights ½, ¼, ¼); translate: those
                         three views without mirrors (digits); off overrides a
                         recipe's                                           [off]
  --patience N           stop when the evaluation accuracy has not improved for N
                         epochs, and keep the weights of the best epoch
  --eval-every N         evaluate every N epochs (and after the last)            [1]
  --converge TOL:K       stop when the train loss moves less than TOL for K epochs
  --seed N               seeds weights and shuffling; same seed, same run  [1]
Output
  --out DIR              run directory                    [runs/<time>-<model>]
  --log-every N          a per-step record in metrics.jsonl every N steps
                         [about 100 per epoch]
  --json                 print the summary as JSON on stdout
  --config FILE.json     flags from a JSON file, e.g. {"lr": 0.1, "epochs": 3};
                         flags on the command line override it
  --resume RUN           continue a run stopped with Ctrl-C from its checkpoint, with
                         its own config (only --data-dir, --offline, --json may be added)

Ctrl-C stops after the current step and saves RUN/checkpoint.safetensors (exit code 130).

Examples:
  convts train --model seed-mnist --dataset mnist --data-dir ../shared/datasets --epochs 1 --out runs/mnist
  convts train --config mnist.json --lr 0.05
  convts train --resume runs/mnist
  convts train --model task1-fc --features cache/mnist-lm.feat --epochs 12
`;

export const trainOptions = {
  model: { type: 'string' },
  activation: { type: 'string' },
  pool: { type: 'string' },
  filters: { type: 'string' },
  loss: { type: 'string' },
  init: { type: 'string' },
  'init-from': { type: 'string' },
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  'train-limit': { type: 'string' },
  offline: { type: 'boolean' },
  val: { type: 'string' },
  subset: { type: 'string' },
  normalize: { type: 'string' },
  flatten: { type: 'boolean' },
  augment: { type: 'string' },
  'image-size': { type: 'string' },
  channels: { type: 'string' },
  'max-pixels': { type: 'string' },
  features: { type: 'string' },
  'test-limit': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  schedule: { type: 'string' },
  converge: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  'log-every': { type: 'string' },
  'wd-skip-norm': { type: 'boolean' },
  warmup: { type: 'string' },
  'label-smoothing': { type: 'string' },
  'clip-grad': { type: 'string' },
  ema: { type: 'string' },
  lookahead: { type: 'string' },
  tta: { type: 'string' },
  patience: { type: 'string' },
  'eval-every': { type: 'string' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  resume: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type TrainFlags = {
  [K in keyof typeof trainOptions]?: (typeof trainOptions)[K]['type'] extends 'boolean' ? boolean : string;
};
/** A run's resolved configuration, as config.json records it. */
export type TrainConfig = TrainSettings;
