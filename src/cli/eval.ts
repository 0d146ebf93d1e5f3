import { foldBatchNorm } from '../model/fold.js';
import { loadModel, openRun, runDataset } from '../run/index.js';
import { precisionRecall } from '../train/metrics.js';
import { evaluate } from '../train/trainer.js';
import { choice, num, parseCommand, runDataFlags } from './args.js';

export const evalHelp = `convts eval — measure a saved model on a data set

Usage: convts eval <run> [options]

Options
  --dataset NAME     the data set                                 [the run's]
  --data-dir DIR     folder holding <dataset>/                     [the run's]
  --split S          test, train, or validation: the images the run held out
                     with --val (also in another --dataset or --data-dir:
                     the same pictures elsewhere, as for a playground model)
                                   [test: the run's evaluation set]
  --test-limit N     use the first N images                        [the run's]
  --batch-size N     images per forward pass                       [256]
  --tta T            flip: mean logits of each image and its mirror image;
                     flip-translate: also of the image moved 1 pixel down-right
                     and up-left (weights ½, ¼, ¼); translate: those three
                     without mirrors; off                  [the run's --tta, else off]
  --json             print the results as JSON on stdout

Prints accuracy, loss, per-class precision and recall, and the confusion matrix.

Example:
  convts eval runs/mnist --data-dir ../shared/datasets
`;

const options = {
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  split: { type: 'string' },
  'test-limit': { type: 'string' },
  'batch-size': { type: 'string' },
  tta: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `convts eval`: returns the process exit code. */
export async function evalCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, options, evalHelp, 'eval');
  if (!parsed) return 0;
  const { values: v, positionals } = parsed;
  const run = positionals[0];
  const { config } = openRun(run, 'eval');
  const model = foldBatchNorm(loadModel(run)).model; // batch norms folded into their convolutions: faster, same numbers
  const ds = runDataset(config, runDataFlags(v));
  const t0 = performance.now();
  // The run's own test-time augmentation by default, so that eval reproduces the number training reported.
  const tta = choice('tta', v.tta, ['flip', 'flip-translate', 'translate', 'off'] as const, config.tta ?? 'off');
  const r = evaluate(
    model,
    ds,
    num('batch-size', v['batch-size'], 256, { int: true, min: 1 }),
    tta === 'off' ? undefined : tta,
  );
  const seconds = (performance.now() - t0) / 1000;
  const { precision, recall } = precisionRecall(r.confusion);
  const names = config.classNames ?? ds.classNames;
  const result = {
    run,
    dataset: ds.name,
    images: ds.length,
    accuracy: r.accuracy,
    loss: r.loss,
    tta,
    classNames: names,
    precision,
    recall,
    confusionMatrix: r.confusion,
    seconds,
  };
  if (v.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  }
  const out: string[] = [];
  out.push(
    `${ds.name}: ${ds.length} images — accuracy ${(100 * r.accuracy).toFixed(2)}%, loss ${r.loss.toFixed(4)}${tta === 'off' ? '' : `, ${tta} averaged`} (${seconds.toFixed(1)} s)`,
    '',
  );
  const w = Math.max(5, ...names.map((n) => n.length));
  out.push(`${'class'.padEnd(w)}  precision  recall  images`);
  names.forEach((n, c) => {
    const count = r.confusion[c].reduce((a, b) => a + b, 0);
    out.push(
      `${n.padEnd(w)}  ${pct(precision[c]).padStart(9)}  ${pct(recall[c]).padStart(6)}  ${String(count).padStart(6)}`,
    );
  });
  const cw = Math.max(4, ...r.confusion.flat().map((x) => String(x).length + 1));
  out.push('', 'confusion matrix (rows: true class, columns: predicted)');
  out.push(`${''.padEnd(w)} ${names.map((n) => n.slice(0, cw - 1).padStart(cw)).join('')}`);
  r.confusion.forEach((row, c) => out.push(`${names[c].padEnd(w)} ${row.map((x) => String(x).padStart(cw)).join('')}`));
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
