import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Normalization, unitScale } from '../data/dataset.js';
import { inputPreparation } from '../data/image.js';
import { ConfigError, DataFormatError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../files/atomic.js';
import { readFileChecked } from '../files/checked.js';
import { formatVersion, jsonObject, readJsonFile } from '../files/json.js';
import { buildModel } from '../model/build.js';
import type { Sequential } from '../model/sequential.js';
import { validateSpec } from '../model/spec.js';
import { loadWeights, weightsToSafetensors } from '../model/weights.js';
import { configFile, type ModelRecord, type RunConfig, readRunConfig, writeRunConfig } from './config.js';

// A saved model is a folder: model.json (the spec, with a format tag and version),
// model.safetensors (the weights, PyTorch names and layouts) and config.json (how inputs are
// prepared: data set, class names, normalization), which convts eval, predict and show read.

/** What saveModel records about the model's inputs; every field may be left out. */
export interface SaveInfo {
  /** The data set trained on (mnist, cifar-10, folder:DIR…): eval re-reads it, predict frames digits for MNIST-like sets. */
  dataset?: string;
  classNames?: readonly string[];
  /** The training data's normalization (a ByteImageDataset's `norm`); [0, 1] scaling when absent. */
  normalization?: Normalization;
}

export const modelFile = 'model.json';
export const weightsFile = 'model.safetensors';

/** Writes `<dir>/model.json` and `<dir>/model.safetensors`, each atomically. */
export function saveModelFiles(model: Sequential, dir: string): void {
  writeFileAtomic(join(dir, weightsFile), weightsToSafetensors(model));
  writeJsonAtomic(join(dir, modelFile), { ...model.spec, format: 'convts-model', version: 1 });
}

/** Loads a run's weights (`<dir>/model.safetensors`) into a model of the same layers. */
export function loadRunWeights(model: Sequential, dir: string): void {
  const path = join(dir, weightsFile);
  loadWeights(model, readFileChecked(path), path);
}

/**
 * Saves a model as a folder that `convts eval`, `predict` and `show` accept: its spec, weights
 * and a config.json with the data set, class names, normalization and input preparation.
 */
export function saveModel(model: Sequential, dir: string, info: SaveInfo = {}): void {
  saveModelFiles(model, dir);
  writeRunConfig(dir, modelRecord(model, info));
}

/** The config.json record of a model saved with `info`. */
export function modelRecord(model: Sequential, info: SaveInfo): ModelRecord {
  const shape = model.inputShape;
  const image = shape.length === 3 ? ([shape[0], shape[1], shape[2]] as const) : null;
  const normalization = info.normalization ?? (image ? unitScale(image[0]) : null);
  const dataset = info.dataset ?? null;
  return {
    dataset,
    classNames: [...(info.classNames ?? model.spec.classes ?? Array.from({ length: model.classes }, (_, i) => `${i}`))],
    normalization,
    input: image && normalization ? inputPreparation(dataset ?? '', image, normalization) : null,
    ...(info.normalization || !image
      ? {}
      : {
          note: 'saveModel was given no normalization: inputs are taken as pixels scaled to [0, 1] (mean 0, std 1)',
        }),
  };
}

/** Loads a model saved by saveModel; `path` is its folder (a run directory) or its model.json. */
export function loadModel(path: string): Sequential {
  const isFile = path.endsWith('.json') && !(existsSync(path) && statSync(path).isDirectory());
  const specPath = isFile ? path : join(path, modelFile);
  const weightsPath = specPath.replace(/\.json$/, '.safetensors');
  const raw = jsonObject(
    readJsonFile(specPath, 'give a run directory or a model.json written by convts train'),
    specPath,
    'a model spec object',
  );
  if (raw.format !== 'convts-model' || raw.version !== 1) {
    throw new DataFormatError(
      `${specPath}: not a convts model file (${formatVersion(raw.format, raw.version)}; expected "convts-model", 1)`,
    );
  }
  const model = buildModel(validateSpec(raw, specPath));
  if (!existsSync(weightsPath))
    throw new ConfigError(`${weightsPath} not found — the model's weights must sit beside ${specPath}`);
  loadWeights(model, readFileChecked(weightsPath), weightsPath);
  return model;
}

/** A saved model with what it needs to prepare its inputs. */
export interface LoadedRun extends ModelRecord {
  model: Sequential;
  /** The whole config.json (training settings too, for runs of convts train). */
  config: RunConfig;
}

/**
 * Loads a run directory (from convts train or saveModel): the model, its class names and how a
 * picture becomes its input. Runs without a recorded input preparation get one from their
 * normalization; models trained on feature vectors have none.
 */
export function loadRun(dir: string): LoadedRun {
  const config = readRunConfig(dir);
  const model = loadModel(dir);
  const shape = model.inputShape;
  const normalization = config.normalization ?? null;
  const input =
    config.input ??
    (shape.length === 3 && normalization && !config.features
      ? inputPreparation(config.dataset ?? '', [shape[0], shape[1], shape[2]], normalization)
      : null);
  const classNames = config.classNames ?? model.spec.classes ?? Array.from({ length: model.classes }, (_, i) => `${i}`);
  if (classNames.length !== model.classes)
    throw new DataFormatError(
      `${join(dir, configFile)}: "classNames" lists ${classNames.length} classes, the model has ${model.classes} outputs`,
    );
  return { model, config, dataset: config.dataset ?? null, classNames, normalization, input };
}
