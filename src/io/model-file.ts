import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataFormatError } from '../errors.js';
import { buildModel } from '../model/build.js';
import type { Sequential } from '../model/sequential.js';
import { validateSpec } from '../model/spec.js';
import { loadWeights, weightsToSafetensors } from '../model/weights.js';
import { writeFileAtomic, writeJsonAtomic } from './files.js';

// A saved model is two files side by side: model.json (the spec, with a format tag and version)
// and model.safetensors (the weights, PyTorch names and layouts).

/** Writes `<dir>/model.json` and `<dir>/model.safetensors`, each atomically. */
export function saveModel(model: Sequential, dir: string): void {
  writeFileAtomic(join(dir, 'model.safetensors'), weightsToSafetensors(model));
  writeJsonAtomic(join(dir, 'model.json'), { ...model.spec, format: 'convts-model', version: 1 });
}

/** Loads a model saved by saveModel; `path` is its folder (a run directory) or its model.json. */
export function loadModel(path: string): Sequential {
  const isFile = path.endsWith('.json') && !(existsSync(path) && statSync(path).isDirectory());
  const specPath = isFile ? path : join(path, 'model.json');
  const weightsPath = specPath.replace(/\.json$/, '.safetensors');
  if (!existsSync(specPath))
    throw new ConfigError(`${specPath} not found — give a run directory or a model.json written by convts train`);
  let raw: { format?: unknown; version?: unknown };
  try {
    raw = JSON.parse(readFileSync(specPath, 'utf8'));
  } catch (e) {
    throw new DataFormatError(`${specPath}: not valid JSON (${(e as Error).message})`);
  }
  if (raw.format !== 'convts-model' || raw.version !== 1) {
    throw new DataFormatError(
      `${specPath}: not a convts model file (format ${JSON.stringify(raw.format)}, version ${JSON.stringify(raw.version)}; expected "convts-model", 1)`,
    );
  }
  const model = buildModel(validateSpec(raw, specPath));
  if (!existsSync(weightsPath))
    throw new ConfigError(`${weightsPath} not found — the model's weights must sit beside ${specPath}`);
  loadWeights(model, readFileSync(weightsPath), weightsPath);
  return model;
}
