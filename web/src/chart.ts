import uPlot from 'uplot';
import { saveCsv, savePng, saveSvg } from './chart-export.js';
import { h } from './dom.js';

// A line chart over uPlot, shared by every view (and the playground): series with their own x
// values on shared axes, a hover box with every series' value, drag to zoom (double-click
// resets), an optional log y-axis, and downloads as PNG, SVG and CSV.

export interface Series {
  label: string;
  color: string;
  x: number[];
  y: (number | null)[];
  dash?: boolean;
  /** Drawn thin and pale (the raw values behind a smoothed line); left out of the hover box. */
  faint?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Offer a log-scale toggle for the y-axis. */
  logToggle?: boolean;
  /** A log x-axis (e.g. learning rates). */
  logX?: boolean;
  /** Where the x-axis starts (otherwise at the first point). */
  xMin?: number;
  /** Formats y values in the hover box and the axis. */
  format?: (v: number) => string;
  /** The y values are shares (accuracies): the axis stays within [0, 1], with room when all are equal. */
  share?: boolean;
  height?: number;
}

export const palette = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#17becf',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
];

export interface Chart {
  el: HTMLElement;
  /** Replaces the series, keeping the zoom (a live run's new points land outside it until a double-click). */
  update(series: Series[]): void;
}

/** Aligns the series on one sorted x array, nulls where a series has no point. */
export function align(series: Series[]): uPlot.AlignedData {
  if (!series.length) return [[]];
  return uPlot.join(series.map((s) => [s.x, s.y] as uPlot.AlignedData)) as uPlot.AlignedData;
}

/** The value of series `si` at index `idx`, or at the nearest index that has one. */
function nearest(data: uPlot.AlignedData, si: number, idx: number): number | null {
  const ys = data[si] as (number | null)[];
  for (let d = 0; d < ys.length; d++) {
    if (ys[idx - d] !== null && ys[idx - d] !== undefined) return ys[idx - d] as number;
    if (ys[idx + d] !== null && ys[idx + d] !== undefined) return ys[idx + d] as number;
  }
  return null;
}

/** The y range of shares from `min` to `max`: 5 % of the span (or 0.05) around them, within [0, 1]. */
function shareRange(min: number, max: number): [number, number] {
  if (!(Number.isFinite(min) && Number.isFinite(max))) return [0, 1];
  const pad = max > min ? (max - min) * 0.05 : 0.05;
  return [Math.max(0, min - pad), Math.min(1, max + pad)];
}

/** An x value: whole numbers (steps) as they are, fractions (epochs) to three places. */
const xFmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));

/** Marks each point only when a series has too few to make a line (evaluated at every redraw). */
const fewPoints = (u: uPlot, si: number) => (u.data[si] as (number | null)[]).filter((v) => v !== null).length < 3;

export function lineChart(o: ChartOptions): Chart {
  const fmt =
    o.format ?? ((v: number) => (Math.abs(v) >= 1000 || Math.abs(v) < 0.001 ? v.toExponential(2) : v.toPrecision(4)));
  let series: Series[] = [];
  let log = false;
  let plot: uPlot | null = null;
  // Drag-zoomed in x: new data (a live run's points, the smoothing slider) keeps the window.
  let zoomed = false;
  const box = h('div', { class: 'plot', role: 'img', 'aria-label': `${o.title}: ${o.yLabel} by ${o.xLabel}` });
  const tip = h('div', { class: 'tip', hidden: true });
  const legend = h('ul', { class: 'legend' });

  const tooltip = (): uPlot.Plugin => ({
    hooks: {
      setCursor: (u) => {
        const idx = u.cursor.idx;
        if (idx === null || idx === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
          tip.hidden = true;
          return;
        }
        const rows = series
          .map((s, i) => ({ s, v: s.faint ? null : nearest(u.data, i + 1, idx) }))
          .filter((r) => r.v !== null);
        tip.replaceChildren(
          h('div', { class: 'tip-x' }, `${o.xLabel} ${xFmt(u.data[0][idx])}`),
          ...rows.map((r) =>
            h(
              'div',
              {},
              h('span', { class: 'swatch', style: `background:${r.s.color}` }),
              `${r.s.label}: ${fmt(r.v!)}`,
            ),
          ),
        );
        tip.hidden = rows.length === 0;
        const left = u.cursor.left + u.over.offsetLeft;
        tip.style.left = `${Math.min(left + 12, box.clientWidth - tip.offsetWidth - 4)}px`;
        tip.style.top = `${(u.cursor.top ?? 0) + 8}px`;
      },
    },
  });

  const build = () => {
    plot?.destroy();
    zoomed = false;
    const width = Math.max(260, box.clientWidth || 600);
    plot = new uPlot(
      {
        width,
        height: o.height ?? 260,
        scales: {
          x: o.logX
            ? { time: false, distr: 3, auto: () => !zoomed }
            : {
                time: false,
                auto: () => !zoomed,
                range: (_u, min, max) => [o.xMin ?? min, max > (o.xMin ?? min) ? max : min + 1],
              },
          y: log ? { distr: 3 } : o.share ? { range: (_u, min, max) => shareRange(min, max) } : {},
        },
        series: [
          { label: o.xLabel },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.faint ? `${s.color}44` : s.color,
            width: s.faint ? 1 : 2,
            dash: s.dash ? [6, 4] : undefined,
            spanGaps: true,
            points: { show: fewPoints },
          })),
        ],
        axes: [
          { label: o.xLabel, stroke: '#333', grid: { stroke: '#eee' } },
          {
            label: o.yLabel,
            stroke: '#333',
            grid: { stroke: '#eee' },
            size: 64,
            values: o.format ? (_u, vs) => vs.map((v) => o.format!(v)) : undefined,
          },
        ],
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        plugins: [tooltip()],
        hooks: {
          setScale: [
            (u, key) => {
              if (key !== 'x') return;
              const xs = u.data[0];
              const [lo, hi] = [u.scales.x.min ?? 0, u.scales.x.max ?? 0];
              const eps = 1e-9 * Math.max(1, Math.abs(hi));
              zoomed = xs.length > 0 && (lo > (o.xMin ?? xs[0]) + eps || hi < xs[xs.length - 1] - eps);
              el.dataset.zoomed = String(zoomed);
            },
          ],
        },
      },
      align(log ? series.map((s) => ({ ...s, y: s.y.map((v) => (v !== null && v > 0 ? v : null)) })) : series),
      box,
    );
    box.append(tip);
  };

  new ResizeObserver(() => {
    if (plot && box.clientWidth && Math.abs(plot.width - box.clientWidth) > 2)
      plot.setSize({ width: box.clientWidth, height: o.height ?? 260 });
  }).observe(box);

  const logBox = h('input', {
    type: 'checkbox',
    onchange: (e: Event) => {
      log = (e.target as HTMLInputElement).checked;
      build();
    },
  });
  const tools = h(
    'div',
    { class: 'tools' },
    o.logToggle ? h('label', {}, logBox, ' log scale') : null,
    h('button', { type: 'button', onclick: () => plot && savePng(plot, o.title, series) }, 'PNG'),
    h('button', { type: 'button', onclick: () => plot && saveSvg(plot, o, series) }, 'SVG'),
    h('button', { type: 'button', onclick: () => saveCsv(o, series) }, 'CSV'),
  );
  const el = h('figure', { class: 'chart' }, h('figcaption', {}, h('span', {}, o.title), tools), box, legend);
  el.dataset.xScale = o.logX ? 'log' : 'linear'; // the x axis's kind, visible in the DOM

  return {
    el,
    update(next) {
      const shape = (ss: Series[]) => ss.map((s) => `${s.label}|${s.color}|${s.dash}|${s.faint}`).join();
      const same = plot && shape(next) === shape(series);
      series = next;
      // how many points are drawn: lets a test (or a reader of the DOM) see the chart grow
      el.dataset.points = String(
        next.filter((x) => !x.faint).reduce((n, x) => n + x.y.filter((v) => v !== null).length, 0),
      );
      legend.replaceChildren(
        ...series
          .filter((s) => !s.faint)
          .map((s) =>
            h(
              'li',
              {},
              h('span', {
                class: 'swatch',
                style: s.dash ? `border-top:3px dashed ${s.color}` : `background:${s.color}`,
              }),
              s.label,
            ),
          ),
      );
      if (same && plot) plot.setData(align(series), true);
      else requestAnimationFrame(build);
    },
  };
}
