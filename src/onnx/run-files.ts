import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Normalization } from '../data/dataset.js';
import { type InputKind, inputKinds } from '../data/image.js';
import { ConfigError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../files/atomic.js';
import { onFileFor, readFileChecked } from '../files/checked.js';
import { foldBatchNorm } from '../model/fold.js';
import { configFile, convtsVersion, loadRun, modelRecord, saveModelFiles } from '../run/index.js';
import { exportOnnx } from './export.js';
import { importOnnx } from './import.js';

/** Exports a run directory's model to an .onnx file (written atomically); returns its size in bytes. */
export function exportRun(run: string, out: string): number {
  const r = loadRun(run);
  // A dense-only model trained on flattened images still takes a picture: its recorded shape.
  const image = r.model.inputShape.length === 3 || r.input !== null;
  // Batch norms folded into the convolution or dense layer before them: fewer nodes, the same outputs.
  const bytes = exportOnnx(foldBatchNorm(r.model).model, {
    normalization: image ? (r.input?.normalization ?? r.normalization ?? undefined) : undefined,
    imageShape: r.input?.shape,
    classNames: r.classNames,
    version: convtsVersion(),
    metadata: {
      ...(r.input ? { input_preparation: JSON.stringify(r.input) } : {}),
      ...(r.dataset ? { dataset: r.dataset } : {}),
    },
  });
  writeFileAtomic(out, bytes);
  return bytes.length;
}

export interface ImportRunOptions {
  /** The data set the model is for (eval's default), e.g. mnist; a convts export records its own. */
  dataset?: string;
  dataDir?: string;
  /** The normalization a graph without one was trained with (pixels/255 → (x − mean)/std). */
  normalization?: Normalization;
  inputShape?: number[];
}

/**
 * Imports an .onnx file into a new run directory (model.json, model.safetensors, config.json).
 * Everything is checked and written into a temporary folder first, so a failure
 * leaves nothing behind; an existing non-empty `out` is refused.
 */
export function importRun(file: string, out: string, o: ImportRunOptions = {}): { layers: number; params: number } {
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new ConfigError(`${out} already exists and is not empty — give a new --out directory`);
  }
  const {
    model,
    normalization: inGraph,
    metadata,
  } = importOnnx(readFileChecked(file), { source: file, inputShape: o.inputShape });
  const c = model.inputShape.length === 3 ? model.inputShape[0] : 1;
  const normalization = inGraph ?? o.normalization ?? { mean: new Array(c).fill(0), std: new Array(c).fill(1) };
  if (normalization.mean.length !== c) {
    throw new ConfigError(
      `the normalization has ${normalization.mean.length} channels, the model takes ${c} — give one --mean and --std value per channel`,
    );
  }
  const dataset = o.dataset ?? metadata.dataset;
  const record = modelRecord(model, { dataset, classNames: model.spec.classes, normalization });
  // A convts export records what kind of pictures the model takes.
  const kind = /"kind":\s*"(\w+)"/.exec(metadata.input_preparation ?? '')?.[1] as InputKind | undefined;
  if (kind && (inputKinds as readonly string[]).includes(kind) && record.input)
    record.input = { ...record.input, kind };
  const abs = resolve(out);
  const tmp = join(dirname(abs), `.${basename(abs)}.import-${process.pid}`);
  // A failure names `out`, the folder the user asked for, not the temporary one.
  onFileFor(out, 'cannot write', () => {
    try {
      rmSync(tmp, { recursive: true, force: true });
      saveModelFiles(model, tmp);
      writeJsonAtomic(join(tmp, configFile), {
        ...record,
        ...(o.dataDir ? { dataDir: o.dataDir } : {}),
        model: `onnx:${basename(file)}`,
        importedFrom: resolve(file),
      });
      rmSync(abs, { recursive: true, force: true }); // an empty folder the user made
      renameSync(tmp, abs);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  });
  return { layers: model.layers.length, params: model.params().reduce((a, p) => a + p.value.size, 0) };
}
