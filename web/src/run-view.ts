import type { RunDetail, RunRow, RunsResponse } from '../../src/serve/api-types.js';
import { get, inlined } from './api.js';
import { curvesView } from './curves.js';
import { duration, fixed, h, pct, section, table } from './dom.js';
import { follow } from './metrics.js';
import { modelSections } from './run-model.js';

// A run's page: what it reached, its curves, every setting it ran with (and how they differ from
// another run's), then the views that run the model: confusion, filters, feature maps, mistakes.

export function runView(id: string): { el: HTMLElement; stop: () => void } {
  const el = h('div', { class: 'run-page' }, h('p', { class: 'note' }, `loading ${id}…`));
  let stops: (() => void)[] = [];
  let shown = 0; // the latest render: an older answer that arrives late is dropped
  const render = () => {
    const mine = ++shown;
    get<RunDetail>('/api/run', { id }).then(
      (d) => {
        if (mine !== shown) return;
        for (const f of stops) f();
        stops = [];
        const curves = curvesView([d.row]);
        stops.push(curves.stop);
        el.replaceChildren(
          h('h1', {}, id),
          facts(d),
          d.row.damaged ? h('p', { class: 'error' }, `damaged: ${d.row.damaged}`) : '',
          section('Curves', null, curves.el),
          summarySection(d),
          settingsSection(d),
          ...modelSections(d, (f) => stops.push(f)),
        );
      },
      (e: Error) => mine === shown && el.replaceChildren(h('p', { class: 'error' }, `${id}: ${e.message}`)),
    );
  };
  // Trained again into its folder, or just finished: the summary, model and test views are redrawn too.
  const live = inlined() ? null : follow(id, (c) => (c.reset || c.finished) && render());
  render();
  return {
    el,
    stop: () => {
      shown = -1;
      live?.stop();
      for (const f of stops) f();
      stops = [];
    },
  };
}

function facts(d: RunDetail): HTMLElement {
  const r = d.row;
  const s = d.summary ?? {};
  const ev = s.evaluatedOn === 'validation' ? 'validation' : 'test';
  const items: [string, string][] = [
    ['status', r.status],
    [`${ev} accuracy`, pct(r.lastAccuracy)],
    ['best', pct(r.bestAccuracy)],
    ['epochs', `${r.epochs}${r.epochsPlanned ? ` of ${r.epochsPlanned}` : ''}`],
    ['time', duration(r.seconds)],
    ['model', r.model ?? '–'],
    ['data', r.dataset ?? '–'],
  ];
  return h(
    'dl',
    { class: 'facts' },
    items.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', { class: k === 'status' ? `status ${v}` : null }, v))),
  );
}

function summarySection(d: RunDetail): HTMLElement {
  const s = d.summary ?? {};
  const keys = [
    'status',
    'trainSize',
    'testSize',
    'evaluatedOn',
    'epochs',
    'stoppedBy',
    'trainLoss',
    'trainAccuracy',
    'testLoss',
    'testAccuracy',
    'parameters',
    'seconds',
    'trainImagesPerSecond',
    'error',
    'warning',
  ];
  const show = (k: string, v: unknown) =>
    typeof v === 'number' && /Accuracy$/.test(k)
      ? pct(v)
      : typeof v === 'number' && /Loss$/.test(k)
        ? fixed(v)
        : typeof v === 'number' && k === 'seconds'
          ? duration(v)
          : typeof v === 'number' && !Number.isInteger(v)
            ? v.toFixed(1)
            : fmt(v);
  const rows = keys.filter((k) => k in s).map((k) => [k, show(k, s[k])]);
  // Beside a validation set: the test split's final numbers.
  const split = s.testSplit as { name: string; size: number; loss: number; accuracy: number } | undefined;
  if (split)
    rows.push([
      'test split',
      `${pct(split.accuracy)}, loss ${fixed(split.loss)} (${split.name}, ${split.size} images)`,
    ]);
  const layers = d.layers.length
    ? table(
        ['layer', 'kind', 'output', 'parameters'],
        d.layers.map((l) => [l.name, l.kind, l.outShape.join('×'), l.params]),
        [3],
      )
    : null;
  return section(
    'Summary',
    d.summary ? null : 'No summary.json yet: the run has not finished.',
    rows.length ? table(['', 'value'], rows) : null,
    layers,
  );
}

/** Settings as flat key → text: config.json's keys, the spec's layers in one line, what the run ran with. */
function flatSettings(d: RunDetail): Record<string, string> {
  const out: Record<string, string> = {};
  const c = d.config ?? {};
  const env = (c.environment as Record<string, unknown> | undefined) ?? {};
  // What it ran with first: the command line, version, kernels and threads (runs of older versions lack them).
  for (const [k, v] of Object.entries(env))
    if (k !== 'machine') out[k === 'convtsVersion' ? 'convts version' : k] = fmt(v);
  for (const [k, v] of Object.entries(c)) if (k !== 'environment') out[k] = fmt(v);
  // The architecture choices that config.json keeps only inside the spec: so a diff names them.
  for (const [k, v] of Object.entries(d.row.hyper)) if (out[k] === undefined && v !== null) out[k] = fmt(v);
  const s = d.summary ?? {};
  for (const k of ['seed', 'kernels', 'threads']) if (s[k] !== undefined && out[k] === undefined) out[k] = fmt(s[k]);
  const machine = (env.machine ?? s.machine ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(machine)) out[`machine.${k}`] = fmt(v);
  return out;
}

function settingsSection(d: RunDetail): HTMLElement {
  const mine = flatSettings(d);
  const body = h(
    'div',
    {},
    table(
      ['setting', 'value'],
      Object.entries(mine).map(([k, v]) => [k, h('code', {}, v)]),
    ),
  );
  const pick = h(
    'select',
    { 'aria-label': 'run to compare settings with' },
    h('option', { value: '' }, 'compare settings with…'),
  );
  const diff = h('div', { class: 'diff' });
  pick.addEventListener('change', async () => {
    if (!pick.value) return diff.replaceChildren();
    try {
      const other = flatSettings(await get<RunDetail>('/api/run', { id: pick.value }));
      const keys = [...new Set([...Object.keys(mine), ...Object.keys(other)])];
      const differ = keys.filter((k) => mine[k] !== other[k]);
      diff.replaceChildren(
        h('p', { class: 'note' }, `${differ.length} of ${keys.length} settings differ (highlighted).`),
        table(
          ['setting', d.row.id, pick.value],
          keys.map((k) => [
            k,
            h('code', { class: mine[k] !== other[k] ? 'changed' : null }, mine[k] ?? '–'),
            h('code', { class: mine[k] !== other[k] ? 'changed' : null }, other[k] ?? '–'),
          ]),
        ),
      );
    } catch (e) {
      diff.replaceChildren(h('p', { class: 'error' }, (e as Error).message));
    }
  });
  if (!inlined())
    get<RunsResponse>('/api/runs').then((r) =>
      pick.append(...r.runs.filter((x: RunRow) => x.id !== d.row.id).map((x) => h('option', { value: x.id }, x.id))),
    );
  const env = d.config?.environment as { command?: string } | undefined;
  const command = env?.command
    ? h('pre', { class: 'command', 'aria-label': 'command line' }, env.command)
    : h('p', { class: 'note' }, 'No command line, version, kernels or threads: the run was made by an older convts.');
  return section(
    'Settings',
    'Every setting the run was resolved with, defaults filled in, and what it ran on.',
    command,
    inlined() ? null : pick,
    diff,
    body,
  );
}

/** A value as short text: numbers as they are, objects as one line of JSON. */
export function fmt(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
