import { Canvas, fit, textWidth } from './canvas.js';

export interface GridOptions {
  /** Tiles per row. */
  cols: number;
  tileW: number;
  tileH: number;
  gap?: number;
  title?: string;
  /** A label left of each row, and above each column. */
  rowLabels?: string[];
  colLabels?: string[];
  /** Lines of text under each tile (tile i gets tileLabels[i]). */
  tileLabels?: string[][];
  /** Font scale of the labels. */
  scale?: number;
  /** Fewer columns than `cols` when the picture would get wider than this. */
  maxWidth?: number;
}

const lineH = (s: number) => 9 * s + 4;

/** Lays `n` equal tiles out in a grid with optional labels; draw(cv, i, x, y) paints tile i. */
export function tileGrid(
  n: number,
  o: GridOptions,
  draw: (cv: Canvas, i: number, x: number, y: number) => void,
): Canvas {
  const s = o.scale ?? 2;
  const gap = o.gap ?? 6;
  const under = Math.max(0, ...(o.tileLabels ?? []).map((l) => l.length)) * lineH(s);
  const left = 10 + (o.rowLabels ? Math.max(...o.rowLabels.map((l) => textWidth(l, s))) + 10 : 0);
  const top = 10 + (o.title ? lineH(s) + 8 : 0) + (o.colLabels ? lineH(s) : 0);
  // A cell is as wide as its tile or its widest label, the tile centred in it.
  const boxW = Math.max(o.tileW, ...(o.tileLabels ?? []).flat().map((l) => textWidth(l, s)));
  const cellW = boxW + gap;
  const fitCols = o.maxWidth ? Math.floor((o.maxWidth - left - 10 + gap) / cellW) : o.cols;
  const cols = Math.max(1, Math.min(o.cols, fitCols, n));
  const rows = Math.ceil(n / cols);
  const cellH = o.tileH + under + gap;
  const cv = new Canvas(
    Math.max(left + cols * cellW + 10 - gap, o.title ? textWidth(o.title, s) + 20 : 0),
    top + rows * cellH + 10 - gap,
  );
  if (o.title) cv.text(o.title, 10, 10, { scale: s });
  o.colLabels?.slice(0, cols).forEach((l, j) => {
    cv.text(fit(l, boxW, s), left + j * cellW + boxW / 2, top - lineH(s), { scale: s, align: 'center' });
  });
  for (let i = 0; i < n; i++) {
    const x = left + (i % cols) * cellW;
    const y = top + Math.floor(i / cols) * cellH;
    draw(cv, i, x + Math.floor((boxW - o.tileW) / 2), y);
    (o.tileLabels?.[i] ?? []).forEach((l, k) => {
      cv.text(l, x + boxW / 2, y + o.tileH + 4 + k * lineH(s), { scale: s, align: 'center' });
    });
  }
  o.rowLabels?.slice(0, rows).forEach((l, r) => {
    cv.text(l, left - 10, top + r * cellH + (o.tileH - 7 * s) / 2, { scale: s, align: 'right' });
  });
  return cv;
}

/** Canvases one above the other, left-aligned, on white. */
export function stack(parts: readonly Canvas[], gap = 8): Canvas {
  const cv = new Canvas(
    Math.max(...parts.map((p) => p.width)),
    parts.reduce((h, p) => h + p.height, 0) + gap * (parts.length - 1),
  );
  let y = 0;
  for (const p of parts) {
    cv.blit(p, 0, y);
    y += p.height + gap;
  }
  return cv;
}
