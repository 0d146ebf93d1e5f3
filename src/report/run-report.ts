import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import type { Sequential } from '../model/sequential.js';
import { type CompletedSummary, machineInfo } from '../run/index.js';
import { sizeOf } from '../tensor/tensor.js';
import type { Dataset } from '../train/dataset.js';
import { precisionRecall } from '../train/metrics.js';
import type { Canvas } from './canvas.js';
import { confusionPicture } from './confusion.js';
import { curvesPictures, type EpochPoint } from './curves.js';
import { featureMapsPicture } from './feature-maps.js';
import { convFilterPictures, type FilterShape, filterGrid } from './filters.js';
import { type Figure, renderReport, type Table } from './html.js';
import { mistakesPicture, worstMistakes } from './misclassified.js';

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
    const worst = worstMistakes(r.model, r.testSet, r.mistakes ?? 24);
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

function evalName(r: RunReportInput): string {
  return r.summary.evaluatedOn ?? 'test';
}

function classNames(r: RunReportInput): readonly string[] {
  return (
    r.summary.classNames ??
    r.model.spec.classes ??
    r.testSet?.classNames ??
    Array.from({ length: r.model.classes }, (_, i) => String(i))
  );
}

// Section id → title and how to read it; `ev` names the evaluation set (test or validation).
const sections = (ev: string): Record<string, [string, string]> => ({
  curves: [
    'Loss and accuracy',
    `Per epoch, on the training set (as it was seen during the epoch) and on the ${ev} set after it.`,
  ],
  confusion: [
    'Confusion matrix',
    `Rows are the true classes, columns the predicted ones; the numbers are ${ev} images, the colour is the square root of the share of the row.`,
  ],
  filters: [
    'Filters',
    "Every conv layer's weights: one numbered tile per filter for grey or colour input, else one row per filter and one column per input channel; each filter is scaled on its own: mid-grey is 0, white its largest positive and black its largest negative weight.",
  ],
  maps: [
    'Feature maps',
    `One ${ev} image through the network: the output of every conv and pool layer, each map scaled from its smallest (black) to its largest (white) value.`,
  ],
  misclassified: [
    'Worst misclassified',
    `${ev[0].toUpperCase()}${ev.slice(1)} images whose true class got the lowest probability, with the true class, the prediction and its probability.`,
  ],
});

function reportPage(
  r: RunReportInput,
  pictures: { file: string; png: Uint8Array; width: number; height: number }[],
  drawSeconds: number,
): string {
  const s = r.summary;
  const group = (file: string) =>
    file.startsWith('curves')
      ? 'curves'
      : file === 'confusion.png'
        ? 'confusion'
        : file.startsWith('filter')
          ? 'filters'
          : file === 'feature-maps.png'
            ? 'maps'
            : 'misclassified';
  const ev = evalName(r);
  const figures: Figure[] = Object.entries(sections(ev)).flatMap(([id, [title, caption]]) => {
    const images = pictures.filter((p) => group(p.file) === id).map((p) => ({ alt: `${title}: ${p.file}`, ...p }));
    return images.length ? [{ id, title, caption, images }] : [];
  });
  const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(2)} %`);
  const num = (x: number | undefined, d = 4) => (x === undefined || x === null ? '–' : x.toFixed(d));
  const names = classNames(r);

  const summaryTables: Table[] = [
    {
      head: ['', 'value'],
      rows: [
        ['status', s.status ?? '–'],
        ['model', s.model ?? r.model.spec.name ?? '–'],
        ['data set', s.dataset ?? '–'],
        ['training images', s.trainSize ?? '–'],
        [`${ev} images`, s.testSize ?? '–'],
        ['epochs', s.epochs ?? '–'],
        ['stopped by', s.stoppedBy ?? '–'],
        ['train loss', num(s.trainLoss)],
        ['train accuracy', pct(s.trainAccuracy)],
        [`${ev} loss`, num(s.testLoss)],
        [`${ev} accuracy`, pct(s.testAccuracy)],
        ['parameters', s.parameters ?? '–'],
        ['seed', s.seed ?? '–'],
        ...(s.warnings?.length ? [['warnings', s.warnings.join(' · ')]] : []),
      ],
    },
  ];
  if (s.confusionMatrix) {
    const { precision, recall } = precisionRecall(s.confusionMatrix);
    summaryTables.push({
      head: ['class', 'precision', 'recall', `${ev} images`],
      numeric: [1, 2, 3],
      rows: precision.map((p, c) => [
        names[c] ?? String(c),
        pct(p),
        pct(recall[c]),
        s.confusionMatrix![c].reduce((a, b) => a + b, 0),
      ]),
    });
  }
  summaryTables.push({
    head: ['layer', 'kind', 'output', 'parameters'],
    numeric: [3],
    rows: r.model.layers.map((l) => [
      l.name,
      l.kind,
      l.outShape.join('×'),
      l.params.reduce((a, p) => a + p.value.size, 0),
    ]),
  });

  const { spec: _spec, ...hyper } = r.config;
  const hyperTable: Table = {
    head: ['setting', 'value'],
    rows: Object.entries(hyper).map(([k, v]) => [
      k,
      typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v),
    ]),
  };

  const per = s.perEpoch ?? [];
  const timing: Table[] = [
    {
      head: ['', 'value'],
      rows: [
        ['training, total', s.seconds === undefined ? '–' : `${s.seconds.toFixed(1)} s`],
        [
          'training speed',
          s.trainImagesPerSecond === undefined ? '–' : `${Math.round(s.trainImagesPerSecond)} images/s`,
        ],
        ['drawing this report', `${drawSeconds.toFixed(1)} s`],
      ],
    },
  ];
  if (per.length) {
    timing.push({
      head: ['epoch', 'lr', 'train loss', 'train acc', `${ev} loss`, `${ev} acc`, 'seconds'],
      numeric: [0, 1, 2, 3, 4, 5, 6],
      rows: per.map((e) => [
        e.epoch,
        e.lr ?? '–',
        num(e.trainLoss),
        pct(e.trainAccuracy),
        num(e.testLoss ?? undefined),
        pct(e.testAccuracy ?? undefined),
        e.seconds === undefined ? '–' : e.seconds.toFixed(1),
      ]),
    });
  }
  const machine = s.machine ?? machineInfo();

  return renderReport({
    title: `convts run: ${s.model ?? r.model.spec.name ?? 'model'} on ${s.dataset ?? 'data'}`,
    facts: [
      [`${ev} accuracy`, pct(s.testAccuracy)],
      [`${ev} loss`, num(s.testLoss)],
      ['epochs', String(s.epochs ?? per.length)],
      ['training time', s.seconds === undefined ? '–' : `${s.seconds.toFixed(1)} s`],
      ['parameters', String(s.parameters ?? '–')],
    ],
    figures,
    tables: [
      { id: 'summary', title: 'Summary', tables: summaryTables },
      { id: 'hyperparameters', title: 'Hyperparameters', tables: [hyperTable] },
      { id: 'timings', title: 'Timings', tables: timing },
      {
        id: 'machine',
        title: 'Machine',
        tables: [{ head: ['', 'value'], rows: Object.entries(machine).map(([k, v]) => [k, String(v)]) }],
      },
    ],
    generated: `Written by convts on ${new Date().toISOString()}.`,
  });
}
