import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import type { Sequential } from '../model/sequential.js';
import type { CompletedSummary } from '../run/index.js';
import { sizeOf } from '../tensor/tensor.js';
import type { Dataset } from '../train/dataset.js';
import type { Canvas } from './canvas.js';
import { confusionPicture } from './confusion.js';
import { curvesPictures, type EpochPoint } from './curves.js';
import { featureMapsPicture } from './feature-maps.js';
import { convFilterPictures, type FilterShape, filterGrid } from './filters.js';
import { mistakesPicture, worstMistakes } from './misclassified.js';
import { classNames, evalName, reportPage } from './static-page.js';

/** What the report shows of summary.json; every field may be missing (an interrupted run, a model saved by saveModel). */
export type ReportSummary = Partial<Omit<CompletedSummary, 'status' | 'perEpoch'>> & {
  status?: string;
  perEpoch?: (EpochPoint & { lr?: number; seconds?: number })[];
};

export interface RunReportInput {
  model: Sequential;
  /** The test set the summary was measured on; feature maps and mistakes come from it (none without). */
  testSet?: Dataset | null;
  summary: ReportSummary;
  /** The resolved hyperparameters (config.json). */
  config: Record<string, unknown>;
  /** Per-epoch metrics; summary.perEpoch when absent. */
  metrics?: EpochPoint[];
  /** Which test image the feature maps show. */
  mapIndex?: number;
  /** How many misclassified images to show. */
  mistakes?: number;
  /** Every test image's class probabilities from the run's evaluation: the mistakes come from them, not another pass. */
  probabilities?: Float32Array;
  /** Fixed filter banks to draw as well, e.g. Task 1's 36×1×17×17 bank. */
  filterBanks?: { name: string; weights: Float32Array; shape: FilterShape }[];
}

/** A picture of a run, with the file it is saved as. */
export interface RunPicture {
  file: string;
  picture: Canvas;
}

/**
 * Draws every picture of a run into `runDir` as PNG files and writes `runDir/report.html`.
 * Returns the paths written. This is what `convts train` calls once training has finished.
 */
export function writeRunReport(runDir: string, r: RunReportInput): string[] {
  const t0 = performance.now();
  const pictures = runPictures(r).map(({ file, picture }) => ({
    file,
    png: picture.png(),
    width: picture.width,
    height: picture.height,
  }));
  const written = pictures.map(({ file, png }) => {
    const path = join(runDir, file);
    writeFileAtomic(path, png);
    return path;
  });
  const page = reportPage(r, pictures, (performance.now() - t0) / 1000);
  const html = join(runDir, 'report.html');
  writeFileAtomic(html, page);
  return [...written, html];
}

/** All pictures of a run: curves, confusion, filters (and banks), feature maps, mistakes. */
export function runPictures(r: RunReportInput): RunPicture[] {
  const out: RunPicture[] = [];
  const epochs = r.metrics ?? r.summary.perEpoch ?? [];
  if (epochs.length) {
    const { loss, accuracy } = curvesPictures(epochs, evalName(r));
    out.push({ file: 'curves-loss.png', picture: loss }, { file: 'curves-accuracy.png', picture: accuracy });
  }
  if (r.summary.confusionMatrix) {
    out.push({ file: 'confusion.png', picture: confusionPicture(r.summary.confusionMatrix, classNames(r)) });
  }
  for (const { name, picture } of convFilterPictures(r.model)) out.push({ file: `filters-${name}.png`, picture });
  for (const b of r.filterBanks ?? []) {
    const [k, c, h, w] = b.shape;
    out.push({
      file: `filter-bank-${b.name}.png`,
      picture: filterGrid(b.weights, b.shape, { title: `${b.name}: ${k} filters of ${c}×${h}×${w}` }),
    });
  }
  if (r.testSet && r.testSet.length > 0 && r.testSet.shape.length === 3) {
    const maps = mapsPicture(r.model, r.testSet, r.mapIndex ?? 0, classNames(r), evalName(r));
    if (maps) out.push({ file: 'feature-maps.png', picture: maps });
    const worst = worstMistakes(r.model, r.testSet, r.mistakes ?? 24, r.probabilities);
    out.push({
      file: 'misclassified.png',
      picture: mistakesPicture(r.testSet, worst, classNames(r), `worst misclassified ${evalName(r)} images`),
    });
  }
  return out;
}

/** The feature maps of test image `index`, or null for a model without image input. */
export function mapsPicture(
  model: Sequential,
  ds: Dataset,
  index: number,
  names: readonly string[],
  set = 'test',
): Canvas | null {
  if (model.inputShape.length !== 3) return null;
  if (!(Number.isInteger(index) && index >= 0 && index < ds.length)) {
    throw new ConfigError(
      `feature maps: image index ${index} is out of range — the ${set} set has ${ds.length} images (0–${ds.length - 1})`,
    );
  }
  const x = new Float32Array(sizeOf(ds.shape));
  ds.fill(x, [index], 0, 1);
  return featureMapsPicture(model, x, `${set} image ${index} (${names[ds.labels[index]] ?? ds.labels[index]})`);
}
