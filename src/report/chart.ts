import { type Canvas, grid, ink, type Rgb, textWidth } from './canvas.js';

export interface Series {
  name: string;
  color: Rgb;
  /** (x, y) points in data units; drawn in order, joined by lines, each with a dot. */
  points: [number, number][];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Ticks only at whole numbers on x (epochs). */
  integerX?: boolean;
  /** Clamp the y axis into this range (e.g. [0, 100] for percentages). */
  yClamp?: [number, number];
  /** A fixed y axis, whatever the data: charts drawn side by side to be compared share one. */
  yRange?: [number, number];
}

const S = 2; // font scale of all chart text

/** About `n` round tick values (steps of 1, 2, 2.5 or 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, n - 1);
  const p = 10 ** Math.floor(Math.log10(raw));
  // The round step nearest to the raw one (within a factor 1.5), so a range gets n ± 2 ticks.
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw / 1.5) ?? 10 * p;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** A tick label with just enough decimals to tell neighbouring ticks apart. */
export function tickLabel(v: number, ticks: number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(v) || 1;
  const decimals = Math.max(
    0,
    Math.min(6, -Math.floor(Math.log10(step) + 1e-9) + (String(step).includes('25') ? 1 : 0)),
  );
  return v.toFixed(decimals);
}

/** Draws a line chart with axes, ticks, a grid and a legend into the box (x, y, w, h) of `cv`. */
export function lineChart(cv: Canvas, bx: number, by: number, bw: number, bh: number, o: ChartOptions): void {
  const pts = o.series.flatMap((s) => s.points).filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = o.yRange ?? (ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]);
  if (x1 - x0 < 1e-12) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  if (y1 - y0 < 1e-12) [y0, y1] = [y0 - Math.max(Math.abs(y0) * 0.05, 0.5), y1 + Math.max(Math.abs(y1) * 0.05, 0.5)];
  const pad = o.yRange ? 0 : (y1 - y0) * 0.08;
  [y0, y1] = [y0 - pad, y1 + pad];
  if (o.yClamp) [y0, y1] = [Math.max(y0, o.yClamp[0]), Math.min(y1, o.yClamp[1])];
  let yt = niceTicks(y0, y1);
  [y0, y1] = [Math.min(y0, yt[0]), Math.max(y1, yt[yt.length - 1])];
  yt = yt.filter((t) => t >= y0 && t <= y1);
  const xt = o.integerX ? niceTicks(Math.ceil(x0), Math.floor(x1), 8).filter(Number.isInteger) : niceTicks(x0, x1, 6);
  if (o.integerX && x1 - x0 >= 1) [x0, x1] = [x0 - 0.3, x1 + 0.3];

  const ylabels = yt.map((t) => tickLabel(t, yt));
  const left = bx + 7 * S + 10 + Math.max(...ylabels.map((l) => textWidth(l, S))) + 8;
  const top = by + 7 * S + 16;
  const right = bx + bw - 12;
  const bottom = by + bh - 7 * S * 2 - 22;
  const px = (v: number) => left + ((v - x0) / (x1 - x0)) * (right - left);
  const py = (v: number) => bottom - ((v - y0) / (y1 - y0)) * (bottom - top);

  cv.text(o.title, (left + right) / 2, by + 4, { scale: S, align: 'center' });
  yt.forEach((t, i) => {
    const y = Math.round(py(t));
    cv.fillRect(left, y, right - left, 1, grid);
    cv.text(ylabels[i], left - 8, y - (7 * S) / 2, { scale: S, align: 'right' });
  });
  for (const t of xt) {
    const x = Math.round(px(t));
    cv.fillRect(x, top, 1, bottom - top, grid);
    cv.fillRect(x, bottom, 1, 5, ink);
    cv.text(tickLabel(t, xt), x, bottom + 8, { scale: S, align: 'center' });
  }
  cv.fillRect(left, top, 1, bottom - top + 1, ink);
  cv.fillRect(left, bottom, right - left, 1, ink);
  cv.text(o.xLabel, (left + right) / 2, bottom + 8 + 7 * S + 8, { scale: S, align: 'center' });
  cv.text(o.yLabel, bx + 2, (top + bottom) / 2, { scale: S, align: 'center', vertical: true });

  for (const s of o.series) {
    const p = s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b)).map(([a, b]) => [px(a), py(b)]);
    for (let i = 1; i < p.length; i++) cv.line(p[i - 1][0], p[i - 1][1], p[i][0], p[i][1], s.color, 2.5);
    for (const [a, b] of p) cv.disc(a, b, p.length > 30 ? 2 : 4, s.color);
  }

  // Legend in the top-right corner of the plot area, on a white box so lines do not cross it.
  const lw = Math.max(...o.series.map((s) => textWidth(s.name, S))) + 40;
  const lh = o.series.length * (7 * S + 8) + 8;
  // The first place (top, bottom, middle; right, then left) where it hides the least.
  const corners = [right - lw - 8, left + 8].flatMap((x) =>
    [top + 8, bottom - lh - 8, Math.round((top + bottom - lh) / 2)].map((y) => [x, y]),
  );
  const hidden = corners.map(([x, y]) => legendCovers(o.series, px, py, x, y, lw, lh));
  const [lx, ly] = corners[hidden.indexOf(Math.min(...hidden))];
  cv.fillRect(lx, ly, lw, lh, [255, 255, 255]);
  cv.strokeRect(lx, ly, lw, lh, grid);
  o.series.forEach((s, i) => {
    const y = ly + 8 + i * (7 * S + 8) + (7 * S) / 2;
    cv.line(lx + 8, y, lx + 28, y, s.color, 3);
    cv.text(s.name, lx + 34, y - (7 * S) / 2, { scale: S });
  });
}

// How many data points, and points sampled along the lines between them (16 per segment), a
// legend box at (lx, ly) would hide.
function legendCovers(
  series: Series[],
  px: (v: number) => number,
  py: (v: number) => number,
  lx: number,
  ly: number,
  lw: number,
  lh: number,
): number {
  const under = (x: number, y: number) => (x >= lx - 6 && x <= lx + lw + 6 && y >= ly - 6 && y <= ly + lh + 6 ? 1 : 0);
  let n = 0;
  for (const s of series) {
    s.points.forEach(([a, b], i) => {
      if (i === 0) n += under(px(a), py(b));
      else
        for (let k = 1; k <= 16; k++)
          n += under(
            px(s.points[i - 1][0] + ((a - s.points[i - 1][0]) * k) / 16),
            py(s.points[i - 1][1] + ((b - s.points[i - 1][1]) * k) / 16),
          );
    });
  }
  return n;
}
