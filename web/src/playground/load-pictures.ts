// A folder of pictures by class (or a zip of one) as the worker's data set: the command line's
// folder rules (src/data/folder-layout.ts), pictures decoded by the browser off the page's main
// thread, each made into a row as convts train --image-size makes it (src/data/picture-set.ts),
// and a fifth of each class held out for evaluation unless the folder has train/ and test/.
import type { ByteImageDataset } from '../../../src/data/dataset.js';
import { folderLayout, isSkipped, stripCommonFolder } from '../../../src/data/folder-layout.js';
import { defaultMaxPixels, type Picture, pictureHeader, uprightSize } from '../../../src/data/picture-header.js';
import { PictureRows } from '../../../src/data/picture-set.js';
import { perClassHoldOut } from '../../../src/data/prepare.js';
import { zipEntries, zipEntryBytes } from '../../../src/data/zip.js';
import { formatBytes } from '../../../src/errors.js';
import type { Loaded } from './load-data.js';
import type { PictureFiles } from './protocol.js';

/**
 * The most the page keeps of a folder's rows (as colour, which they are until every picture has been
 * seen): checked on the sizes the headers declare, before any picture is decoded or any row allocated.
 */
export const maxRowBytes = 2 ** 30;

/** The share of each class held out for evaluation when the folder has no test/ split (as `convts train --val 0.2`). */
export const heldOut = 0.2;

interface Source {
  path: string;
  read(): Promise<Uint8Array>;
}

/** Reports how far the loading is: `done` of `total` pictures decoded. */
export type Progress = (done: number, total: number) => void;

export async function loadPictures(m: PictureFiles, progress: Progress): Promise<Loaded> {
  const sources = await listSources(m);
  const kept = sources.filter((s) => !isSkipped(s.path));
  if (!kept.length) {
    const seen = sources.slice(0, 5).map((s) => s.path);
    throw new Error(
      `${m.name}: no pictures (.png, .jpg) — ${sources.length ? `found ${sources.length} other file(s): ${seen.join(', ')}${sources.length > 5 ? ', …' : ''}` : 'it is empty'}; give a folder with a subfolder of pictures per class`,
    );
  }
  const { paths, root } = stripCommonFolder(kept.map((s) => s.path));
  const where = root && root !== m.name ? `${m.name}/${root}` : m.name;
  const byPath = new Map(paths.map((p, i) => [p, kept[i]]));
  const layout = folderLayout(paths, where);
  const samples = [...layout.train, ...(layout.test ?? [])];
  // Every picture's bytes and upright size first: the most common size is the data set's.
  const files: Uint8Array[] = [];
  const sizeOf: string[] = [];
  await inTurns(samples.length, 16, async (i) => {
    const s = samples[i];
    const bytes = await (byPath.get(s.path) as Source).read();
    const name = `${where}/${s.path}`;
    const h = pictureHeader(bytes, name);
    if (h.width * h.height > defaultMaxPixels)
      throw new Error(`${name}: ${h.width}×${h.height} pixels is more than the page decodes — scale it down first`);
    const { width, height } = uprightSize(h);
    sizeOf[i] = `${height}×${width}`;
    files[i] = bytes;
  });
  // Counted in sample order, so that a tie goes to the size seen first whatever order the reads finished in.
  const sizes = new Map<string, number>();
  for (const k of sizeOf) sizes.set(k, (sizes.get(k) ?? 0) + 1);
  const common = [...sizes]
    .reduce((a, b) => (b[1] > a[1] ? b : a))[0]
    .split('×')
    .map(Number);
  const size: [number, number] = m.size ? [m.size, m.size] : [common[0], common[1]];
  const bytes = samples.length * 3 * size[0] * size[1];
  if (bytes > maxRowBytes)
    throw new Error(
      `${where}: ${samples.length} pictures of ${size[0]}×${size[1]} would need ${formatBytes(bytes)} in the page, more than ${formatBytes(maxRowBytes)} — choose a smaller size under "resized to" (28×28, 32×32 or 64×64)`,
    );
  const rows = new PictureRows(samples.length, size);
  let [shown, done] = [0, 0];
  await inTurns(samples.length, 8, async (i) => {
    rows.set(i, await decode(files[i], `${where}/${samples[i].path}`));
    files[i] = new Uint8Array(0);
    done++;
    if (performance.now() - shown > 100 || done === samples.length) {
      progress(done, samples.length);
      shown = performance.now();
    }
  });
  const all = rows.dataset(
    `folder:${m.name}`,
    Uint8Array.from(samples, (s) => s.label),
    layout.classNames,
  );
  const nTrain = layout.train.length;
  if (layout.test)
    return {
      name: all.name,
      train: all.slice(0, nTrain, `${all.name}-train`),
      test: all.slice(nTrain, all.length, `${all.name}-test`),
    };
  return { name: all.name, ...holdOut(all), val: heldOut };
}

/** f(0) … f(n − 1), `width` of them under way at a time (the browser reads and decodes them in parallel). */
async function inTurns(n: number, width: number, f: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await f(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
}

/** The dropped files, or a zip's entries (checked and inflated as they are read). */
async function listSources(m: PictureFiles): Promise<Source[]> {
  const zip = m.files.length === 1 && /\.zip$/i.test(m.files[0].path) ? m.files[0] : null;
  if (!zip) return m.files.map((f) => ({ path: f.path, read: async () => new Uint8Array(await f.file.arrayBuffer()) }));
  const bytes = new Uint8Array(await zip.file.arrayBuffer());
  return zipEntries(bytes, zip.path).map((e) => ({
    // Some Windows tools separate folders with backslashes.
    path: e.name.replaceAll('\\', '/'),
    read: () => zipEntryBytes(bytes, e, zip.path),
  }));
}

// One canvas for pictures of one size (most of a data set's): making a canvas costs more than drawing.
let kept: OffscreenCanvasRenderingContext2D | null = null;
function canvas(width: number, height: number): OffscreenCanvasRenderingContext2D {
  if (kept?.canvas.width === width && kept.canvas.height === height) return kept;
  const g = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!g) throw new Error('this browser has no 2D canvas in workers — the pictures cannot be decoded');
  kept = g;
  return g;
}

/** A picture decoded by the browser as stored (no colour management, alpha not premultiplied), turned upright. */
async function decode(bytes: Uint8Array, name: string): Promise<Picture> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), {
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'none',
      imageOrientation: 'from-image',
    });
  } catch {
    throw new Error(`${name}: the browser cannot decode this picture — is it damaged?`);
  }
  const { width, height } = bitmap;
  const g = canvas(width, height);
  g.clearRect(0, 0, width, height);
  g.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = g.getImageData(0, 0, width, height).data;
  return { width, height, rgba: new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.length) };
}

/** A fifth of each class, the images `convts train --val 0.2` holds out of the same folder. */
function holdOut(all: ByteImageDataset): { train: ByteImageDataset; test: ByteImageDataset } {
  const test = perClassHoldOut(all.labels, all.classNames.length, heldOut);
  const inTest = new Set(test);
  const train = Array.from({ length: all.length }, (_, i) => i).filter((i) => !inTest.has(i));
  return { train: all.select(train, `${all.name}-train`), test: all.select(test, `${all.name}-validation`) };
}
