import { Canvas, palette } from './canvas.js';
import { lineChart, type Series } from './chart.js';
import { curvesPictures, type EpochPoint } from './curves.js';
import { type Cell, renderReport, type Table } from './html.js';

/** One trial of a sweep as the sweep report shows it. */
export interface TrialResult {
  name: string;
  /** The swept flags and this trial's values, in grid order, e.g. {lr: "0.1", filters: "8"}. */
  params: Record<string, string>;
  status: 'completed' | 'diverged' | 'interrupted' | 'failed';
  testAccuracy: number | null;
  testLoss: number | null;
  trainAccuracy: number | null;
  seconds: number | null;
  perEpoch: EpochPoint[];
  /** Why a trial did not complete. */
  error?: string;
}

/** Trials best first: by test accuracy, trials without one last, ties in grid order. */
export function rankTrials(trials: readonly TrialResult[]): TrialResult[] {
  return [...trials].sort((a, b) => (b.testAccuracy ?? -1) - (a.testAccuracy ?? -1));
}

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(2)}%`);

function trialTable(trials: readonly TrialResult[], keys: readonly string[]): Table {
  return {
    head: ['rank', ...keys, 'test accuracy', 'test loss', 'train accuracy', 'epochs', 'seconds', 'status', 'report'],
    rows: rankTrials(trials).map((t, i) => [
      i + 1,
      ...keys.map((k) => t.params[k]),
      pct(t.testAccuracy),
      t.testLoss === null ? '—' : t.testLoss.toFixed(4),
      pct(t.trainAccuracy),
      t.perEpoch.length,
      t.seconds === null ? '—' : t.seconds.toFixed(1),
      t.error ? `${t.status}: ${t.error}` : t.status, // why it failed or diverged, in the report itself
      t.status === 'completed' ? { text: 'report', href: `${t.name}/report.html` } : '—',
    ]),
    numeric: [
      0,
      ...keys
        .map((_, i) => i + 1)
        .filter((i) => keys.length && trials.every((t) => Number.isFinite(Number(t.params[keys[i - 1]])))),
      keys.length + 1,
      keys.length + 2,
      keys.length + 3,
      keys.length + 4,
      keys.length + 5,
    ],
  };
}

/** The ranking as a Markdown table. */
export function sweepMarkdown(trials: readonly TrialResult[], keys: readonly string[]): string {
  const t = trialTable(trials, keys);
  const num = new Set(t.numeric);
  const line = (cells: Cell[]) =>
    `| ${cells
      .map((c) =>
        typeof c === 'object'
          ? `[${c.text}](${c.href})`
          : String(c)
              .replace(/\s*\n\s*/g, ' ')
              .replace(/\|/g, '\\|'),
      )
      .join(' | ')} |`;
  return `${[line(t.head), line(t.head.map((_, i) => (num.has(i) ? '---:' : '---'))), ...t.rows.map(line)].join('\n')}\n`;
}

/**
 * Test accuracy against one swept parameter: one line per combination of the other parameters
 * (when there are at most five), else the best trial at each value. A learning rate spanning a
 * factor of 10 or more is drawn on a log10 axis; non-numeric values (relu, tanh) at 0, 1, 2…
 */
export function accuracyByParam(trials: readonly TrialResult[], key: string, keys: readonly string[]): Canvas {
  const values = [...new Set(trials.map((t) => t.params[key]))];
  const numeric = values.every((v) => Number.isFinite(Number(v)) && !v.includes(','));
  const log =
    numeric &&
    Number(values.reduce((a, b) => (Number(a) < Number(b) ? a : b))) > 0 &&
    Math.max(...values.map(Number)) / Math.min(...values.map(Number)) >= 10;
  const x = (v: string) => (!numeric ? values.indexOf(v) : log ? Math.log10(Number(v)) : Number(v));
  const others = keys.filter((k) => k !== key);
  const groupOf = (t: TrialResult) => others.map((k) => `${k}=${t.params[k]}`).join(' ');
  const groups = [...new Set(trials.map(groupOf))];
  const done = trials.filter((t) => t.testAccuracy !== null);
  const line = (ts: TrialResult[]) =>
    values.flatMap((v): [number, number][] => {
      const at = ts.filter((t) => t.params[key] === v).map((t) => t.testAccuracy! * 100);
      return at.length ? [[x(v), Math.max(...at)]] : [];
    });
  const series: Series[] =
    groups.length <= palette.length
      ? groups.map((g, i) => ({
          name: g || 'test accuracy',
          color: palette[i],
          points: line(done.filter((t) => groupOf(t) === g)),
        }))
      : [{ name: `best over ${others.join(', ')}`, color: palette[0], points: line(done) }];
  const cv = new Canvas(560, 400);
  lineChart(cv, 0, 0, 560, 400, {
    title: `Test accuracy by ${key}`,
    yLabel: 'test accuracy (%)',
    yClamp: [0, 100],
    integerX: !numeric,
    xLabel: !numeric ? values.map((v, i) => `${i}=${v}`).join(' ') : log ? `log10(${key})` : key,
    series,
  });
  return cv;
}

/** One accuracy axis (in %) for every trial's chart: the span of all their accuracies, in steps of 10. */
export function accuracyRange(trials: readonly TrialResult[]): [number, number] {
  const all = trials.flatMap((t) =>
    t.perEpoch.flatMap((e) => [e.trainAccuracy, e.testAccuracy ?? e.trainAccuracy].map((a) => 100 * a)),
  );
  if (!all.length) return [0, 100];
  const lo = Math.max(0, Math.floor(Math.min(...all) / 10) * 10);
  const hi = Math.min(100, Math.ceil(Math.max(...all) / 10) * 10);
  return hi > lo ? [lo, hi] : [Math.max(0, lo - 10), Math.min(100, hi + 10)];
}

// Click a column heading to sort by it (again to reverse); numbers sort as numbers.
const sortScript = `document.querySelectorAll('#trials th').forEach((th,i)=>th.addEventListener('click',()=>{
const tb=th.closest('table').tBodies[0],rows=[...tb.rows],d=th.dataset.d=th.dataset.d==='1'?'-1':'1';
const v=(r)=>{const s=r.cells[i].textContent,n=parseFloat(s);return isNaN(n)?s:n};
rows.sort((a,b)=>{const x=v(a),y=v(b);return (x<y?-1:x>y?1:0)*(typeof x==='number'?-d:d)});rows.forEach((r)=>tb.appendChild(r))}));`;

/** sweep.html: the ranking (sortable), accuracy against each parameter and every trial's curves. */
export function sweepPage(
  title: string,
  trials: readonly TrialResult[],
  keys: readonly string[],
  plots: { key: string; png: Uint8Array; width: number; height: number }[],
): string {
  const ranked = rankTrials(trials);
  const best = ranked[0];
  const range = accuracyRange(trials);
  const curves = ranked
    .filter((t) => t.perEpoch.length)
    .map((t) => {
      const chart = curvesPictures(t.perEpoch, 'test', range).accuracy;
      const cv = new Canvas(chart.width, chart.height + 24);
      cv.text(t.name, cv.width / 2, 6, { scale: 2, align: 'center' });
      cv.blit(chart, 0, 24);
      return { alt: `accuracy curves of ${t.name}`, png: cv.png(), width: cv.width, height: cv.height };
    });
  return renderReport({
    title,
    facts: [
      ['trials', String(trials.length)],
      ['completed', String(trials.filter((t) => t.status === 'completed').length)],
      ...(best?.testAccuracy != null
        ? [
            ['best test accuracy', pct(best.testAccuracy)] as [string, string],
            ['best trial', best.name] as [string, string],
          ]
        : []),
    ],
    figures: [
      {
        id: 'by-parameter',
        title: 'Accuracy by parameter',
        caption: 'Final test accuracy of each trial against each swept parameter.',
        images: plots.map((p) => ({ alt: `test accuracy by ${p.key}`, png: p.png, width: p.width, height: p.height })),
      },
      {
        id: 'curves',
        title: 'Curves',
        caption: `Train and test accuracy per epoch of every trial, best trial first, all on one axis (${range[0]}–${range[1]} %).`,
        images: curves,
      },
    ],
    tables: [{ id: 'trials', title: 'Trials (click a heading to sort)', tables: [trialTable(trials, keys)] }],
    generated: `Written by convts sweep on ${new Date().toISOString()}.`,
    script: sortScript,
    tablesFirst: true,
  });
}
