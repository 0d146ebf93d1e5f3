import type { RunRow, RunsResponse, SweepRow } from '../../src/serve/api-types.js';
import { get } from './api.js';
import { lineChart, palette } from './chart.js';
import { curvesView } from './curves.js';
import { duration, h, pct, section, table } from './dom.js';
import { colorBar, sequential } from './pictures.js';

// A sweep's page: its trials ranked, test accuracy against each swept parameter (log axis for
// the learning rate), a heat map when two parameters were swept, and all trials' curves.

export function sweepView(id: string): { el: HTMLElement; stop: () => void } {
  const el = h('div', { class: 'sweep-page' }, h('p', { class: 'note' }, `loading ${id}…`));
  let stop = () => {};
  get<RunsResponse>('/api/runs').then(
    (r) => {
      const sweep = r.sweeps.find((s) => s.id === id);
      if (!sweep) return el.replaceChildren(h('p', { class: 'error' }, `${id}: no such sweep`));
      const byId = new Map(r.runs.map((x) => [x.id, x]));
      const trials = sweep.trials.map((t) => ({ ...t, row: byId.get(t.id) ?? null }));
      const done = trials.filter((t): t is typeof t & { row: RunRow } => t.row !== null);
      const curves = curvesView(done.map((t) => t.row));
      stop = curves.stop;
      el.replaceChildren(
        h('h1', {}, `sweep ${id}`),
        ranking(sweep, trials),
        ...Object.keys(sweep.grid).map((k) => byParam(sweep, k, done)),
        Object.keys(sweep.grid).length === 2 ? heatMap(sweep, done) : '',
        section('All trials', 'Every trial on one set of axes.', curves.el),
      );
    },
    (e: Error) => el.replaceChildren(h('p', { class: 'error' }, e.message)),
  );
  return { el, stop: () => stop() };
}

type Trial = SweepRow['trials'][number] & { row: RunRow | null };

function ranking(s: SweepRow, trials: Trial[]): HTMLElement {
  const keys = Object.keys(s.grid);
  const sorted = [...trials].sort((a, b) => (b.row?.lastAccuracy ?? -1) - (a.row?.lastAccuracy ?? -1));
  return section(
    'Ranking',
    'Trials by final test accuracy; each links to its run page.',
    table(
      ['rank', 'trial', ...keys, 'test acc', 'best acc', 'epochs', 'time', 'status'],
      sorted.map((t, i) => [
        i + 1,
        h('a', { href: `#/run/${encodeURIComponent(t.id)}` }, t.name),
        ...keys.map((k) => String(t.params[k] ?? '–')),
        pct(t.row?.lastAccuracy),
        pct(t.row?.bestAccuracy),
        t.row?.epochs ?? '–',
        duration(t.row?.seconds),
        t.row?.status ?? 'not started',
      ]),
      [0, keys.length + 2, keys.length + 3, keys.length + 4],
    ),
  );
}

/** Test accuracy against one parameter: one line per combination of the other parameters. */
function byParam(s: SweepRow, key: string, trials: (Trial & { row: RunRow })[]): HTMLElement {
  const numeric = s.grid[key].every((v) => typeof v === 'number');
  const others = Object.keys(s.grid).filter((k) => k !== key);
  const groups = new Map<string, (Trial & { row: RunRow })[]>();
  for (const t of trials) {
    const g = others.map((k) => `${k}=${t.params[k]}`).join(', ') || 'all trials';
    groups.set(g, [...(groups.get(g) ?? []), t]);
  }
  if (!numeric) {
    return section(
      `Accuracy by ${key}`,
      null,
      table(
        [key, ...groups.keys()],
        s.grid[key].map((v) => [
          String(v),
          ...[...groups.values()].map((ts) => pct(ts.find((t) => t.params[key] === v)?.row.lastAccuracy)),
        ]),
      ),
    );
  }
  const chart = lineChart({
    title: `Test accuracy by ${key}`,
    xLabel: key,
    yLabel: 'test accuracy',
    logX: key === 'lr' || key === 'weight-decay',
    format: (v) => pct(v, 1),
    share: true,
  });
  chart.update(
    [...groups.entries()].map(([g, ts], i) => {
      const sorted = [...ts].sort((a, b) => Number(a.params[key]) - Number(b.params[key]));
      return {
        label: g,
        color: palette[i % palette.length],
        x: sorted.map((t) => Number(t.params[key])),
        y: sorted.map((t) => t.row.lastAccuracy),
      };
    }),
  );
  return section(`Accuracy by ${key}`, key === 'lr' ? 'Learning rate on a log axis.' : null, chart.el);
}

function heatMap(s: SweepRow, trials: (Trial & { row: RunRow })[]): HTMLElement {
  const [a, b] = Object.keys(s.grid);
  const accs = trials.map((t) => t.row.lastAccuracy).filter((x): x is number => x !== null);
  const lo = Math.min(...accs, 1);
  const hi = Math.max(...accs, 0);
  const cell = (va: string | number, vb: string | number) => {
    const t = trials.find((x) => x.params[a] === va && x.params[b] === vb);
    const v = t?.row.lastAccuracy ?? null;
    if (v === null) return h('td', {}, '–');
    const u = hi > lo ? (v - lo) / (hi - lo) : 1;
    const [r, g, bl] = sequential(u);
    return h(
      'td',
      { class: 'num', style: `background:rgb(${r | 0},${g | 0},${bl | 0});color:${u > 0.5 ? '#fff' : '#111'}` },
      h('a', { href: `#/run/${encodeURIComponent(t!.id)}` }, pct(v, 1)),
    );
  };
  return section(
    `Heat map: ${a} × ${b}`,
    'Final test accuracy of each trial.',
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'heat' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, `${a} \\ ${b}`),
            s.grid[b].map((v) => h('th', {}, String(v))),
          ),
        ),
        h(
          'tbody',
          {},
          s.grid[a].map((va) =>
            h(
              'tr',
              {},
              h('th', {}, String(va)),
              s.grid[b].map((vb) => cell(va, vb)),
            ),
          ),
        ),
      ),
    ),
    colorBar(lo, hi, sequential, false, 'test accuracy'),
  );
}
