import { join } from 'node:path';
import { ConfigError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { Conv2d } from '../layers/conv2d.js';
import type { Canvas } from '../report/canvas.js';
import { confusionPicture } from '../report/confusion.js';
import { curvesPicture } from '../report/curves.js';
import { convFilterPictures, filterPicture } from '../report/filters.js';
import { stack } from '../report/grid.js';
import { mistakesPicture, worstMistakes } from '../report/misclassified.js';
import { mapsPicture, type ReportSummary, writeRunReport } from '../report/run-report.js';
import { completedSummary, loadModel, openRun, readEpochMetrics, runDataset, saveProbabilities } from '../run/index.js';
import { evaluateProbabilities } from '../serve/compute.js';
import { writeReportPage } from '../serve/report-page.js';
import { num, parseCommand, runDataFlags } from './args.js';

export const showHelp = `convts show — draw a picture of a saved run again

Usage: convts show <what> <run> [options]

What
  curves          loss and accuracy per epoch, train and test
  confusion       the test confusion matrix as a heat map
  filters         the filters of every conv layer (or of --layer)
  maps            the feature maps of every conv and pool layer for one test image
  misclassified   the worst misclassified test images
  report          every picture and report.html, written into the run directory

Options
  --out FILE         where to write the PNG                      [<run>/<what>.png]
  --layer NAME       filters: only this conv layer, e.g. conv2
  --filter N         filters: just filter N of the layer, drawn large
  --index N          maps, report: which test image               [0]
  --count N          misclassified, report: how many images      [24]
  --dataset NAME     maps, misclassified, report: the data set     [the run's]
  --data-dir DIR     folder holding <dataset>/                     [the run's]
  --test-limit N     use the first N test images                   [the run's]

Filters and images are numbered from 0, as in every convts command.

Example:
  convts show filters runs/mnist --out conv-filters.png
`;

const kinds = ['curves', 'confusion', 'filters', 'maps', 'misclassified', 'report'] as const;

const options = {
  out: { type: 'string' },
  layer: { type: 'string' },
  filter: { type: 'string' },
  index: { type: 'string' },
  count: { type: 'string' },
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  'test-limit': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `convts show`: returns the process exit code. */
export async function showCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, options, showHelp, 'show');
  if (!parsed) return 0;
  const { values: v, positionals } = parsed;
  if (positionals.length !== 2) {
    throw new UsageError(
      `show: expected <what> <run>, e.g. "convts show curves runs/mnist" (what: ${kinds.join(', ')})`,
    );
  }
  const what = positionals[0] as (typeof kinds)[number];
  if (!kinds.includes(what)) throw new UsageError(`show: "${what}" is not one of ${kinds.join(', ')}`);
  const run = positionals[1];
  const opened = openRun(run, 'show');
  const { config } = opened;
  const summary: ReportSummary = opened.summary ? (completedSummary(opened.summary) ?? {}) : {};
  const names =
    config.classNames ??
    summary.classNames ??
    Array.from({ length: summary.confusionMatrix?.length ?? 0 }, (_, i) => String(i));
  const data = () => runDataset(config, runDataFlags(v));

  if (what === 'report') {
    const model = loadModel(run);
    const testSet = data();
    // Evaluated once, as the run was (its test-time augmentation too), for the pictures and the page alike.
    const probabilities = testSet.shape.length === 3 ? evaluateProbabilities(model, testSet, config) : undefined;
    const files = writeRunReport(run, {
      model,
      testSet,
      summary,
      config,
      metrics: readEpochMetrics(run),
      mapIndex: num('index', v.index, 0, { int: true, min: 0 }),
      mistakes: num('count', v.count, 24, { int: true, min: 1 }),
      probabilities,
    });
    // Kept with the run for convts serve, unless these are other images than the run's test set.
    const ownTestSet = v.dataset === undefined && v['test-limit'] === undefined;
    if (probabilities && ownTestSet) saveProbabilities(run, probabilities, testSet.labels, model.classes, config.tta);
    writeReportPage(run, { model, config, data: testSet, probabilities }); // report.html: the dashboard's run page
    process.stderr.write(`wrote ${files.length} files, open ${join(run, 'report.html')}\n`);
    return 0;
  }
  let picture: Canvas;
  if (what === 'curves') {
    const epochs = readEpochMetrics(run);
    if (!epochs.length)
      throw new ConfigError(
        `${run}: no per-epoch metrics (${opened.summary ? 'no epoch has finished yet' : 'a model saved without training records'}) — nothing to draw`,
      );
    picture = curvesPicture(epochs, summary.evaluatedOn);
  } else if (what === 'confusion') {
    if (!summary.confusionMatrix)
      throw new ConfigError(
        opened.summary
          ? `${join(run, 'summary.json')} has no confusionMatrix — did training finish? (status: ${opened.summary.status})`
          : `${run} has no summary.json (a model saved by saveModel) — convts eval ${run} prints its confusion matrix`,
      );
    picture = confusionPicture(summary.confusionMatrix, names);
  } else if (what === 'filters') {
    const model = loadModel(run);
    const convs = model.layers.filter((l): l is Conv2d => l instanceof Conv2d);
    const chosen = v.layer ? convs.filter((l) => l.name === v.layer) : convs;
    if (!chosen.length) {
      throw v.layer
        ? new UsageError(
            `--layer: the model has no conv layer "${v.layer}" — its conv layers are ${convs.map((l) => l.name).join(', ') || 'none'}`,
          )
        : new ConfigError(`${run}: the model has no conv layers, so there are no filters to draw`);
    }
    if (v.filter !== undefined) {
      const w = chosen[0].weight.value;
      const [k, c, h, wd] = w.shape;
      const f = num('filter', v.filter, 0, { int: true, min: 0, max: k - 1 });
      picture = filterPicture(
        w.data.subarray(f * c * h * wd, (f + 1) * c * h * wd),
        [c, h, wd],
        `${chosen[0].name} filter ${f} (0–${k - 1})`,
      );
    } else {
      picture = stack(
        convFilterPictures(model)
          .filter((p) => chosen.some((l) => l.name === p.name))
          .map((p) => p.picture),
        16,
      );
    }
  } else if (what === 'maps') {
    const model = loadModel(run);
    const maps = mapsPicture(
      model,
      data(),
      num('index', v.index, 0, { int: true, min: 0 }),
      names,
      summary.evaluatedOn,
    );
    if (!maps)
      throw new ConfigError(`${run}: ${notImages(config.features, model.inputShape)} — it has no feature maps`);
    picture = maps;
  } else {
    const model = loadModel(run);
    const ds = data();
    if (ds.shape.length !== 3)
      throw new ConfigError(`${run}: ${notImages(config.features, ds.shape)} — there are no images to draw`);
    picture = mistakesPicture(
      ds,
      worstMistakes(
        model,
        ds,
        num('count', v.count, 24, { int: true, min: 1 }),
        evaluateProbabilities(model, ds, config),
      ),
      names,
      `worst misclassified ${summary.evaluatedOn ?? 'test'} images`,
    );
  }
  const out = v.out ?? join(run, `${what}.png`);
  writeFileAtomic(out, picture.png());
  process.stderr.write(`wrote ${out} (${picture.width}×${picture.height})\n`);
  return 0;
}

/** Why a run has no pictures of its inputs: it takes feature vectors or flat vectors. */
function notImages(features: string | null | undefined, shape: readonly number[]): string {
  return features
    ? `the model was trained on feature vectors of ${features} (${shape.join('×')} values each), not on images; convts features --pictures DIR draws the filter bank's maps`
    : `the model takes flat vectors (${shape.join('×')}), not images`;
}
