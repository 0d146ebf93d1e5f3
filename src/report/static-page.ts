// The static report.html of a run: its PNG pictures inlined beside tables of the summary, settings,
// timings and machine. The dashboard's run page replaces it when the web bundle is built
// (src/serve/report-page.ts); this page is what a build without the bundle still gets.
import { machineInfo } from '../run/index.js';
import { precisionRecall } from '../train/metrics.js';
import { type Figure, renderReport, type Table } from './html.js';
import type { RunReportInput } from './run-report.js';

/** The evaluation set's name: test or validation. */
export function evalName(r: RunReportInput): string {
  return r.summary.evaluatedOn ?? 'test';
}

/** The class names: the summary's, the spec's, the data's, else 0…n−1. */
export function classNames(r: RunReportInput): readonly string[] {
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

export function reportPage(
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
        ...(s.testSplit
          ? [
              [`test loss (${s.testSplit.name}, ${s.testSplit.size} images)`, num(s.testSplit.loss)],
              ['test accuracy', pct(s.testSplit.accuracy)],
            ]
          : []),
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
    const split = per.some((e) => e.testSplitAccuracy !== undefined);
    timing.push({
      head: [
        'epoch',
        'lr',
        'train loss',
        'train acc',
        `${ev} loss`,
        `${ev} acc`,
        ...(split ? ['test loss', 'test acc'] : []),
        'seconds',
      ],
      numeric: split ? [0, 1, 2, 3, 4, 5, 6, 7, 8] : [0, 1, 2, 3, 4, 5, 6],
      rows: per.map((e) => [
        e.epoch,
        e.lr ?? '–',
        num(e.trainLoss),
        pct(e.trainAccuracy),
        num(e.testLoss ?? undefined),
        pct(e.testAccuracy ?? undefined),
        ...(split ? [num(e.testSplitLoss), pct(e.testSplitAccuracy)] : []),
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
      ...(s.testSplit ? [['test accuracy', pct(s.testSplit.accuracy)] as [string, string]] : []),
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
