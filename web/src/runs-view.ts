import type { RunRow, RunsResponse } from '../../src/serve/api-types.js';
import { get, inlined } from './api.js';
import { curvesView } from './curves.js';
import { duration, h, pct } from './dom.js';

// The runs page: every run in a sortable, filterable table; ticked runs are overlaid below.

/** Rows drawn before "show all": a table of this many lays out in a fraction of a second. */
const firstRows = 200;

type Col = {
  key: string;
  label: string;
  get: (r: RunRow) => string | number | null;
  show?: (r: RunRow) => Node | string;
  num?: boolean;
};

const cols: Col[] = [
  {
    key: 'id',
    label: 'run',
    get: (r) => r.id,
    show: (r) => h('a', { href: `#/run/${encodeURIComponent(r.id)}` }, r.id),
  },
  { key: 'model', label: 'model', get: (r) => r.model },
  { key: 'dataset', label: 'data', get: (r) => r.dataset },
  {
    key: 'status',
    label: 'status',
    get: (r) => r.status,
    show: (r) => h('span', { class: `status ${r.status}`, title: r.damaged ?? '' }, r.status),
  },
  { key: 'best', label: 'best acc', get: (r) => r.bestAccuracy, show: (r) => pct(r.bestAccuracy), num: true },
  { key: 'last', label: 'last acc', get: (r) => r.lastAccuracy, show: (r) => pct(r.lastAccuracy), num: true },
  {
    key: 'epochs',
    label: 'epochs',
    get: (r) => r.epochs,
    show: (r) => `${r.epochs}${r.epochsPlanned ? `/${r.epochsPlanned}` : ''}`,
    num: true,
  },
  { key: 'time', label: 'time', get: (r) => r.seconds, show: (r) => duration(r.seconds), num: true },
  ...['optimizer', 'lr', 'batchSize', 'filters', 'activation', 'pool', 'seed'].map(
    (k): Col => ({
      key: k,
      label: k === 'batchSize' ? 'batch' : k,
      get: (r) => r.hyper[k] ?? null,
      num: k === 'lr' || k === 'batchSize' || k === 'seed',
    }),
  ),
];

export function runsView(): { el: HTMLElement; stop: () => void } {
  let rows: RunRow[] = [];
  let sweeps: RunsResponse['sweeps'] = [];
  let sort = { key: 'id', dir: 1 };
  let filter = '';
  const ticked = new Set<string>(
    new URLSearchParams(location.hash.split('?')[1] ?? '').get('compare')?.split(',').filter(Boolean) ?? [],
  );
  const tbody = h('tbody');
  const thead = h('thead');
  const sweepList = h('ul', { class: 'sweeps' });
  const sweepSection = h('section', { hidden: true }, h('h2', {}, 'Sweeps'), sweepList);
  const count = h('span', { class: 'count' });
  let showAll = false;
  const more = h('button', {
    type: 'button',
    hidden: true,
    onclick: () => {
      showAll = true;
      render();
    },
  });
  const compare = h('div', { class: 'compare' });
  let curves: { el: HTMLElement; stop: () => void } | null = null;
  let comparedKey: string | null = null; // null: nothing drawn yet, so an empty selection shows the hint
  const search = h('input', {
    type: 'search',
    placeholder: 'filter: name, model, status, lr…',
    'aria-label': 'filter runs',
  });
  search.addEventListener('input', () => {
    filter = search.value.trim().toLowerCase();
    render();
  });

  function header(): void {
    thead.replaceChildren(
      h(
        'tr',
        {},
        h('th', {}, h('span', { class: 'sr' }, 'compare')),
        cols.map((c) =>
          h(
            'th',
            {
              class: c.num ? 'num' : null,
              'aria-sort': sort.key === c.key ? (sort.dir > 0 ? 'ascending' : 'descending') : null,
            },
            h(
              'button',
              {
                type: 'button',
                onclick: () => {
                  sort = { key: c.key, dir: sort.key === c.key ? -sort.dir : 1 };
                  header();
                  render();
                },
              },
              c.label,
              sort.key === c.key ? (sort.dir > 0 ? ' ▲' : ' ▼') : '',
            ),
          ),
        ),
      ),
    );
  }

  function render(): void {
    const col = cols.find((c) => c.key === sort.key)!;
    const shown = rows
      .filter(
        (r) =>
          !filter ||
          cols.some((c) =>
            String(c.get(r) ?? '')
              .toLowerCase()
              .includes(filter),
          ),
      )
      .sort((a, b) => {
        const [x, y] = [col.get(a), col.get(b)];
        if (x === y) return 0;
        if (x === null) return 1;
        if (y === null) return -1;
        return (x < y ? -1 : 1) * sort.dir;
      });
    // Laying out a table costs the browser about 1 ms of CPU per row: thousands of rows would take
    // seconds, so the first rows in the current order are drawn (and every ticked one) until asked.
    const drawn = showAll ? shown : shown.filter((r, i) => i < firstRows || ticked.has(r.id));
    count.textContent = `${shown.length} of ${rows.length} runs`;
    more.hidden = drawn.length === shown.length;
    more.textContent = `showing ${drawn.length} — show all ${shown.length}`;
    tbody.replaceChildren(
      ...drawn.map((r) =>
        h(
          'tr',
          { class: ticked.has(r.id) ? 'ticked' : null },
          h(
            'td',
            {},
            h('input', {
              type: 'checkbox',
              checked: ticked.has(r.id),
              'aria-label': `compare ${r.id}`,
              onchange: () => toggle(r.id),
            }),
          ),
          cols.map((c) => h('td', { class: c.num ? 'num' : null }, c.show ? c.show(r) : String(c.get(r) ?? '–'))),
        ),
      ),
    );
    sweepSection.hidden = sweeps.length === 0;
    sweepList.replaceChildren(
      ...sweeps.map((s) =>
        h(
          'li',
          {},
          h('a', { href: `#/sweep/${encodeURIComponent(s.id)}` }, s.id),
          ` — ${Object.keys(s.grid).join(' × ')}, ${s.trials.length} trials`,
        ),
      ),
    );
    const chosen = rows.filter((r) => ticked.has(r.id));
    const key = chosen.map((r) => r.id).join(',');
    if (key !== comparedKey) {
      comparedKey = key;
      curves?.stop();
      curves = chosen.length ? curvesView(chosen) : null;
      compare.replaceChildren(
        curves ? curves.el : h('p', { class: 'note' }, 'Tick runs to draw their curves here, overlaid.'),
      );
    }
  }

  function toggle(id: string): void {
    if (ticked.has(id)) ticked.delete(id);
    else ticked.add(id);
    history.replaceState(null, '', ticked.size ? `#/?compare=${[...ticked].map(encodeURIComponent).join(',')}` : '#/');
    render();
  }

  let timer = 0;
  let stopped = false;
  let last = '';
  async function load(): Promise<void> {
    try {
      const r = await get<RunsResponse>('/api/runs');
      const text = JSON.stringify(r);
      if (text !== last) {
        last = text; // re-rendered only on change, so keyboard focus stays where it was
        rows = r.runs;
        sweeps = r.sweeps;
        render();
      }
    } catch (e) {
      count.textContent = `could not list the runs: ${(e as Error).message}`;
    }
    if (!stopped && !inlined()) timer = window.setTimeout(() => void load(), 3000);
  }
  header();
  void load();
  const el = h(
    'div',
    {},
    h(
      'section',
      {},
      h('h2', {}, 'Runs'),
      h('div', { class: 'bar' }, search, count, more),
      h('div', { class: 'scroll' }, h('table', { class: 'runs' }, thead, tbody)),
    ),
    sweepSection,
    h('section', {}, h('h2', {}, 'Compare'), compare),
  );
  return {
    el,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      curves?.stop();
    },
  };
}
