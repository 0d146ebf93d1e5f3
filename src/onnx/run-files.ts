import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Normalization } from '../data/dataset.js';
import { type InputPreparation, inputPreparation } from '../data/image.js';
import { ConfigError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../io/files.js';
import { loadModel, saveModel } from '../io/model-file.js';
import { readRunJson } from '../report/run-report.js';
import { exportOnnx } from './export.js';
import { importOnnx } from './import.js';

/** The version in convts's package.json, for the metadata of exported files. */
export function convtsVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

interface RunRecord {
  normalization?: Normalization;
  input?: InputPreparation;
  flatten?: boolean;
  dataset?: string;
}

/** Exports a run directory's model to an .onnx file (written atomically); returns its size in bytes. */
export function exportRun(run: string, out: string): number {
  const model = loadModel(run);
  const config: RunRecord = existsSync(join(run, 'config.json')) ? readRunJson(run, 'config.json') : {};
  const summary: { classNames?: string[] } = existsSync(join(run, 'summary.json'))
    ? readRunJson(run, 'summary.json')
    : {};
  const normalization = config.input?.normalization ?? config.normalization;
  // A dense-only model trained on flattened images still takes a picture; the channels tell its shape.
  const c = normalization?.mean.length;
  const side = c ? Math.round(Math.sqrt(model.inputShape[0] / c)) : 0;
  const imageShape =
    config.input?.shape ??
    (config.flatten && c && c * side * side === model.inputShape[0] ? ([c, side, side] as const) : undefined);
  const bytes = exportOnnx(model, {
    normalization: model.inputShape.length === 3 || imageShape ? normalization : undefined,
    imageShape,
    classNames: summary.classNames ?? model.spec.classes,
    version: convtsVersion(),
    metadata: config.input ? { input_preparation: JSON.stringify(config.input) } : {},
  });
  writeFileAtomic(out, bytes);
  return bytes.length;
}

export interface ImportRunOptions {
  /** The data set the model is for (eval's default), e.g. mnist. */
  dataset?: string;
  dataDir?: string;
  /** The normalization a graph without one was trained with (pixels/255 → (x − mean)/std). */
  normalization?: Normalization;
  inputShape?: number[];
}

/**
 * Imports an .onnx file into a new run directory (model.json, model.safetensors, config.json,
 * summary.json). Everything is checked and written into a temporary folder first, so a failure
 * leaves nothing behind; an existing non-empty `out` is refused.
 */
export function importRun(file: string, out: string, o: ImportRunOptions = {}): { layers: number; params: number } {
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new ConfigError(`${out} already exists and is not empty — give a new --out directory`);
  }
  if (!existsSync(file)) throw new ConfigError(`${file} not found — give an .onnx file`);
  const {
    model,
    normalization: inGraph,
    metadata,
  } = importOnnx(readFileSync(file), { source: file, inputShape: o.inputShape });
  const c = model.inputShape.length === 3 ? model.inputShape[0] : 1;
  const normalization = inGraph ?? o.normalization ?? { mean: new Array(c).fill(0), std: new Array(c).fill(1) };
  if (normalization.mean.length !== c) {
    throw new ConfigError(
      `the normalization has ${normalization.mean.length} channels, the model takes ${c} — give one --mean and --std value per channel`,
    );
  }
  let recorded: InputPreparation | undefined;
  try {
    recorded = metadata.input_preparation ? JSON.parse(metadata.input_preparation) : undefined;
  } catch {
    recorded = undefined;
  }
  const shape = model.inputShape.length === 3 ? (model.inputShape as unknown as [number, number, number]) : undefined;
  const input =
    recorded ??
    (shape ? inputPreparation(o.dataset ?? (c === 1 ? 'mnist' : 'images'), shape, normalization) : undefined);
  const names = model.spec.classes ?? Array.from({ length: model.classes }, (_, i) => String(i));
  const abs = resolve(out);
  const tmp = join(dirname(abs), `.${basename(abs)}.import-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    saveModel(model, tmp);
    writeJsonAtomic(join(tmp, 'config.json'), {
      model: `onnx:${basename(file)}`,
      importedFrom: resolve(file),
      ...(o.dataset ? { dataset: o.dataset } : {}),
      ...(o.dataDir ? { dataDir: o.dataDir } : {}),
      normalization,
      ...(input ? { input } : {}),
      spec: model.spec,
    });
    writeJsonAtomic(join(tmp, 'summary.json'), {
      status: 'imported',
      model: `onnx:${basename(file)}`,
      classNames: names,
    });
    rmSync(abs, { recursive: true, force: true }); // an empty folder the user made
    renameSync(tmp, abs);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { layers: model.layers.length, params: model.params().reduce((a, p) => a + p.value.size, 0) };
}
