import { ShapeError } from '../errors.js';
import { Conv2d } from '../layers/conv2d.js';
import type { Sequential } from '../model/sequential.js';
import { Canvas, drawImage, ink, range, textWidth } from './canvas.js';
import { stack, tileGrid } from './grid.js';

export type FilterShape = readonly [number, number, number, number];

/**
 * Pixels a filter grid may take. At the usual 13 pixels per weight, the 256 × 256 filters of 3×3
 * of a wide layer would make a picture of 11,578 × 11,586 (134 megapixels, minutes to draw and
 * encode, and more than any viewer shows at once); past this the weights are drawn smaller.
 */
const maxPixels = 4096 * 4096;

/**
 * The most filters (rows) and input channels (columns) a multi-channel grid draws, and the most
 * tiles of a one-tile-per-filter grid. Past them a grid shows the first ones and its title says
 * so: 65,536 tiles of a 256 × 256 layer took seconds to draw and encode into a picture nobody
 * reads tile by tile (the run page, report.html, has every filter).
 */
export const filterSample = { rows: 64, cols: 32, tiles: 1024 };

export interface FilterGridOptions {
  title?: string;
  /** Draw 3-channel filters as one colour tile each (first layers of colour models). */
  rgb?: boolean;
  /** Pixels per weight; chosen from the filter size (and the grid's size, see maxPixels) when absent. */
  scale?: number;
}

/**
 * Filters [k, c, h, w] as a grid, each filter normalized on its own so that mid-grey is 0 and
 * white/black are its largest positive/negative weight. Single-channel (and RGB) filters are laid
 * out in a near-square grid numbered from 1; multi-channel filters get one row per filter and
 * one column per input channel.
 */
export function filterGrid(w: Float32Array, shape: FilterShape, o: FilterGridOptions = {}): Canvas {
  const [kAll, c, h, wd] = checkShape(w, shape);
  const rgb = (o.rgb ?? false) && c === 3;
  const perChannel = c > 1 && !rgb;
  const k = Math.min(kAll, perChannel ? filterSample.rows : filterSample.tiles);
  const cShown = perChannel ? Math.min(c, filterSample.cols) : c;
  const shown = [k < kAll ? `filters 0–${k - 1}` : '', cShown < c ? `input channels 0–${cShown - 1}` : '']
    .filter(Boolean)
    .join(', ');
  const title = shown ? `${o.title ?? `${kAll} filters`} (${shown} shown)` : o.title;
  let scale = o.scale ?? Math.max(2, Math.round((perChannel ? 40 : 64) / Math.max(h, wd)));
  // Smaller, down to a pixel per weight, when the grid would pass maxPixels (every filter still there).
  const tiles = perChannel ? k * cShown : k;
  if (o.scale === undefined) while (scale > 1 && tiles * (wd * scale + 6) * (h * scale + 6) > maxPixels) scale--; // 6: the gap
  const size = c * h * wd;
  const bounds = Array.from({ length: k }, (_, f) => {
    const [lo, hi] = range(w, f * size, size);
    return Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  });
  const tile = (cv: Canvas, f: number, ch: number | 'rgb', x: number, y: number) => {
    const b = bounds[f];
    drawImage(cv, w, f * size, [c, h, wd], x, y, scale, -b, b, ch);
    cv.strokeRect(x - 1, y - 1, wd * scale + 2, h * scale + 2, ink);
  };
  const tileW = wd * scale;
  const tileH = h * scale;
  const labelScale = tileW < 24 ? 1 : 2;
  if (perChannel) {
    const long = textWidth(`in${cShown}`, labelScale) <= tileW; // "in10" when it fits its column, else "10"
    return tileGrid(
      k * cShown,
      {
        cols: cShown,
        tileW,
        tileH,
        title,
        rowLabels: Array.from({ length: k }, (_, f) => `${f}`),
        colLabels: Array.from({ length: cShown }, (_, j) => (long ? `in${j}` : `${j}`)),
        scale: labelScale,
      },
      (cv, i, x, y) => tile(cv, Math.floor(i / cShown), i % cShown, x, y),
    );
  }
  return tileGrid(
    k,
    {
      cols: Math.ceil(Math.sqrt(k)),
      tileW,
      tileH,
      title,
      gap: 10,
      tileLabels: k > 1 ? Array.from({ length: k }, (_, f) => [`${f}`]) : undefined,
      scale: labelScale,
    },
    (cv, i, x, y) => tile(cv, i, rgb ? 'rgb' : 0, x, y),
  );
}

/** One filter [c, h, w] large enough to read each weight, with its value range. */
export function filterPicture(w: Float32Array, shape: readonly [number, number, number], title = 'filter'): Canvas {
  const [c, h, wd] = shape;
  const grid = filterGrid(w, [1, c, h, wd], {
    title,
    rgb: c === 3,
    scale: Math.max(8, Math.round(320 / Math.max(h, wd * Math.min(c, 3)))),
  });
  const [lo, hi] = range(w);
  const max = Math.max(Math.abs(lo), Math.abs(hi));
  const text = `black ${(-max).toPrecision(3)}  grey 0  white ${max.toPrecision(3)}`;
  const legend = new Canvas(textWidth(text, 2) + 20, 30);
  legend.text(text, 10, 4, { scale: 2 });
  return stack([grid, legend], 0);
}

/** The filters of every conv layer of a model, one grid each (named conv1, conv2, …). */
export function convFilterPictures(model: Sequential): { name: string; picture: Canvas }[] {
  return model.layers.flatMap((l, i) => {
    if (!(l instanceof Conv2d)) return [];
    const [k, c, h, w] = l.weight.value.shape;
    const title = `${l.name}: ${k} filters of ${c}×${h}×${w}`;
    return [{ name: l.name, picture: filterGrid(l.weight.value.data, [k, c, h, w], { title, rgb: i === 0 }) }];
  });
}

function checkShape(w: Float32Array, shape: FilterShape): FilterShape {
  const n = shape.reduce((a, b) => a * b, 1);
  if (shape.length !== 4 || n !== w.length || n === 0) {
    throw new ShapeError(
      `filter grid: expected weights of shape [filters, channels, height, width] matching ${w.length} values, got [${shape.join(', ')}]`,
    );
  }
  return shape;
}
