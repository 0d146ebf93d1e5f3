import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ConfigError, DataFormatError } from '../errors.js';
import { readFileChecked } from '../files/checked.js';
import { ByteImageDataset } from './dataset.js';

export interface FolderOptions {
  /** 1 = grayscale, 3 = RGB; default: 1 when the first image is grey, else 3. */
  channels?: 1 | 3;
  /** Resize every image to height×width (bilinear); default: all images must have the first one's size. */
  size?: [number, number];
}

const extensions = new Set(['.png', '.jpg', '.jpeg']);

/**
 * A data set from `root/<class name>/*.png|jpg`: classes are the subfolders in sorted order. The
 * samples are interleaved class by class (first image of each class, then the second, …), so
 * "the last N in file order" — the validation hold-out — draws from every class.
 */
export function readFolder(root: string, o: FolderOptions = {}): ByteImageDataset {
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new ConfigError(`${root}: not a folder — expected ${root}/<class name>/<images>`);
  const classNames = readdirSync(root)
    .filter((d) => statSync(join(root, d)).isDirectory())
    .sort();
  const perClass = classNames.map((c) =>
    readdirSync(join(root, c))
      .filter((f) => extensions.has(extname(f).toLowerCase()))
      .sort()
      .map((f) => join(root, c, f)),
  );
  if (classNames.length < 2 || classNames.length > 256) {
    throw new ConfigError(
      `${root}: found ${classNames.length} class folder(s), need 2 to 256 — put each class's images in ${root}/<class name>/`,
    );
  }
  const empty = classNames.find((_, c) => perClass[c].length === 0);
  if (empty) throw new ConfigError(`${join(root, empty)}: no .png or .jpg images`);
  const order: { path: string; label: number }[] = [];
  const total = perClass.reduce((n, files) => n + files.length, 0);
  for (let k = 0; order.length < total; k++) {
    perClass.forEach((files, c) => {
      if (k < files.length) order.push({ path: files[k], label: c });
    });
  }
  const first = decode(order[0].path);
  const [h, w] = o.size ?? [first.height, first.width];
  const channels = o.channels ?? (isGrey(first.data) ? 1 : 3);
  const size = channels * h * w;
  const images = new Uint8Array(order.length * size);
  const labels = Uint8Array.from(order, (s) => s.label);
  order.forEach((s, i) => {
    const img = i === 0 ? first : decode(s.path);
    if (!o.size && (img.width !== w || img.height !== h)) {
      throw new DataFormatError(
        `${s.path}: image is ${img.height}×${img.width}, expected ${h}×${w} like ${order[0].path} — resize with --image-size`,
      );
    }
    toPlanes(img, images.subarray(i * size, (i + 1) * size), channels, h, w);
  });
  return new ByteImageDataset(`folder:${root}`, images, labels, [channels, h, w], classNames);
}

interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

/** PNG or JPEG → 8-bit RGBA. */
function decode(path: string): Rgba {
  const bytes = readFileChecked(path);
  try {
    if (extname(path).toLowerCase() === '.png') {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: png.data };
    }
    // Bounds decoding work on hostile files; 64 MB is far beyond any training image.
    const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 64 });
    return { width: j.width, height: j.height, data: j.data };
  } catch (e) {
    throw new DataFormatError(
      `${path}: not a readable ${extname(path).slice(1).toUpperCase()} image (${(e as Error).message})`,
    );
  }
}

function isGrey(rgba: Uint8Array): boolean {
  for (let i = 0; i < rgba.length; i += 4) if (rgba[i] !== rgba[i + 1] || rgba[i] !== rgba[i + 2]) return false;
  return true;
}

/** RGBA pixels → C planes of h×w bytes (bilinear resampling with pixel centres aligned; grey = ITU-R 601 luma). */
function toPlanes(img: Rgba, out: Uint8Array, channels: number, h: number, w: number): void {
  const sy = img.height / h;
  const sx = img.width / w;
  const px = (x: number, y: number, k: number) => img.data[(y * img.width + x) * 4 + k];
  for (let y = 0; y < h; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const tx = fx - x0;
      const at = (k: number) =>
        (px(x0, y0, k) * (1 - tx) + px(x1, y0, k) * tx) * (1 - ty) +
        (px(x0, y1, k) * (1 - tx) + px(x1, y1, k) * tx) * ty;
      if (channels === 1) out[y * w + x] = Math.round(0.299 * at(0) + 0.587 * at(1) + 0.114 * at(2));
      else for (let c = 0; c < 3; c++) out[c * h * w + y * w + x] = Math.round(at(c));
    }
  }
}
