import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataFormatError } from '../errors.js';
import { readFileChecked } from '../files/checked.js';
import { defaultMaxPixels, type Picture, pictureHeader } from './picture-header.js';

export { defaultMaxPixels, type Picture, pictureHeader } from './picture-header.js';

export interface PictureOptions {
  /** Refuse pictures whose header declares more than this many pixels. */
  maxPixels?: number;
}

/**
 * Reads a PNG or JPEG file (told apart by content, not by name). A missing, unreadable or special
 * file is a FileError naming the path, as for every other reader; so is a file larger than any
 * picture within the pixel budget could be (8 bytes a pixel: 16-bit RGBA stored, plus 16 MB).
 */
export function readPicture(path: string, o: PictureOptions = {}): Picture {
  const budget = o.maxPixels ?? defaultMaxPixels;
  return decodePicture(readFileChecked(path, budget * 8 + 2 ** 24), path, o);
}

/**
 * Decodes PNG or JPEG bytes; `name` (the file) goes into every error. The size declared in the
 * header is checked against the pixel budget first, so a few-byte file claiming 65,535×65,535
 * pixels costs nothing.
 */
export function decodePicture(bytes: Uint8Array, name: string, o: PictureOptions = {}): Picture {
  const { format, width, height, orientation } = pictureHeader(bytes, name);
  const budget = o.maxPixels ?? defaultMaxPixels;
  if (width * height > budget) {
    throw new DataFormatError(
      `${name}: ${format} of ${width}×${height} = ${mp(width * height)} megapixels is over the ${mp(budget)}-megapixel budget — scale it down first, or raise the budget with --max-pixels`,
    );
  }
  try {
    if (format === 'PNG') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)); // 8-bit RGBA, any depth
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const j = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: Math.ceil(budget / 1e6),
      maxMemoryUsageInMB: Math.ceil((budget * 8) / 2 ** 20) + 16, // RGBA out plus the decoder's component planes
    });
    return orient({ width: j.width, height: j.height, rgba: j.data }, orientation);
  } catch (e) {
    throw new DataFormatError(`${name}: truncated or damaged ${format} (${decoderSays(e)})`);
  }
}

/**
 * The decoder's own words when they explain the damage ("marker was not found"); its slips on
 * damaged data (a TypeError about undefined, "unknown JPEG marker NaN") tell the user nothing.
 */
function decoderSays(e: unknown): string {
  const m = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
  return !m || e instanceof TypeError || e instanceof RangeError || /\bundefined\b|\bNaN\b/.test(m)
    ? 'its image data does not decode'
    : m;
}

const mp = (n: number) => (n / 1e6).toFixed(n < 1e7 ? 1 : 0);

// Source x and y of output pixel (x, y) as [x, y, 1]-coefficients, per Exif orientation 2–8:
// mirrored, turned 180°, flipped, transposed, turned 90° clockwise, transversed, 90° anticlockwise.
const orientations: Record<number, number[]> = {
  2: [-1, 0, 1, 0, 1, 0],
  3: [-1, 0, 1, 0, -1, 1],
  4: [1, 0, 0, 0, -1, 1],
  5: [0, 1, 0, 1, 0, 0],
  6: [0, 1, 0, -1, 0, 1],
  7: [0, -1, 1, -1, 0, 1],
  8: [0, -1, 1, 1, 0, 0],
};

/** The picture turned upright as its Exif orientation says a viewer shows it. */
function orient(p: Picture, orientation: number): Picture {
  const c = orientations[orientation];
  if (!c) return p;
  const { width: w, height: h, rgba } = p;
  const [W, H] = orientation >= 5 ? [h, w] : [w, h];
  const out = new Uint8Array(rgba.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sx = c[0] * x + c[1] * y + c[2] * (w - 1);
      const sy = c[3] * x + c[4] * y + c[5] * (h - 1);
      out.set(rgba.subarray((sy * w + sx) * 4, (sy * w + sx) * 4 + 4), (y * W + x) * 4);
    }
  }
  return { width: W, height: H, rgba: out };
}
