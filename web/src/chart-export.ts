import type uPlot from 'uplot';
import type { ChartOptions, Series } from './chart.js';
import { align } from './chart.js';
import { download } from './dom.js';

// A chart's downloads: its data as CSV, its canvas as PNG, its lines as SVG (with the current zoom).

const safeName = (s: string) => s.replace(/[^\w.-]+/g, '-').replace(/^-|-$/g, '') || 'chart';

export function saveCsv(o: ChartOptions, series: Series[]): void {
  const data = align(series);
  const head = [o.xLabel, ...series.map((s) => s.label)].map((c) => `"${c.replace(/"/g, '""')}"`).join(',');
  const rows = (data[0] as number[]).map((x, i) => [x, ...series.map((_, si) => data[si + 1][i] ?? '')].join(','));
  download(`${safeName(o.title)}.csv`, new Blob([[head, ...rows].join('\n')], { type: 'text/csv' }));
}

/** The chart's canvas at device resolution, on white, with its title and a legend. */
export function savePng(u: uPlot, title: string, series: Series[]): void {
  const src = u.ctx.canvas;
  const r = src.width / u.width;
  const shown = series.filter((s) => !s.faint);
  const c = document.createElement('canvas');
  c.width = src.width;
  c.height = src.height + r * (28 + 18 * shown.length);
  const g = c.getContext('2d')!;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, c.width, c.height);
  g.fillStyle = '#111';
  g.font = `${14 * r}px sans-serif`;
  g.fillText(title, 8 * r, 18 * r);
  g.drawImage(src, 0, 24 * r);
  shown.forEach((s, i) => {
    const y = src.height + r * (34 + 18 * i);
    g.fillStyle = s.color;
    g.fillRect(8 * r, y - 9 * r, 12 * r, 4 * r);
    g.fillStyle = '#111';
    g.font = `${12 * r}px sans-serif`;
    g.fillText(s.label, 26 * r, y - 3 * r);
  });
  c.toBlob((b) => b && download(`${safeName(title)}.png`, b), 'image/png');
}

const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The chart as vector lines with the current zoom: axes with five ticks each, a legend. */
export function saveSvg(u: uPlot, o: ChartOptions, series: Series[]): void {
  const W = u.width;
  const H = u.height;
  const dpr = u.ctx.canvas.width / u.width;
  const [L, T, PW, PH] = [u.bbox.left / dpr, u.bbox.top / dpr, u.bbox.width / dpr, u.bbox.height / dpr];
  const fmt = o.format ?? ((v: number) => v.toPrecision(3));
  const out: string[] = [];
  const shown = series.filter((s) => !s.faint);
  out.push(`<rect x="${L}" y="${T}" width="${PW}" height="${PH}" fill="none" stroke="#999"/>`);
  for (const [axis, key] of [
    [0, 'x'],
    [1, 'y'],
  ] as const) {
    const { min, max } = u.scales[key];
    if (min === undefined || max === undefined) continue;
    for (let i = 0; i <= 4; i++) {
      const v = min + ((max - min) * i) / 4;
      const p = u.valToPos(v, key);
      out.push(
        axis === 0
          ? `<text x="${L + p}" y="${T + PH + 16}" text-anchor="middle">${esc(fmt(v))}</text>`
          : `<text x="${L - 6}" y="${T + p + 4}" text-anchor="end">${esc(fmt(v))}</text>`,
      );
    }
  }
  series.forEach((s, si) => {
    const pts = (u.data[0] as number[])
      .map((x, i) => [x, u.data[si + 1][i]] as const)
      .filter(([, y]) => y !== null && y !== undefined)
      .map(([x, y]) => `${(L + u.valToPos(x, 'x')).toFixed(1)},${(T + u.valToPos(y as number, 'y')).toFixed(1)}`);
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-opacity="${s.faint ? 0.3 : 1}" stroke-width="${s.faint ? 1 : 2}"${s.dash ? ' stroke-dasharray="6 4"' : ''} points="${pts.join(' ')}"/>`,
    );
  });
  shown.forEach((s, i) =>
    out.push(`<text x="${L}" y="${H + 18 * (i + 1)}" fill="${s.color}">— ${esc(s.label)}</text>`),
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 18 * shown.length + 8}" font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="#fff"/><text x="${L}" y="14" font-size="13">${esc(o.title)}</text><defs><clipPath id="c"><rect x="${L}" y="${T}" width="${PW}" height="${PH}"/></clipPath></defs>${out.join('')}</svg>`;
  download(`${safeName(o.title)}.svg`, new Blob([svg], { type: 'image/svg+xml' }));
}
