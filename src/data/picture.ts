import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataFormatError } from '../errors.js';
import { readFileChecked } from '../files/checked.js';

/** A decoded picture: 8-bit RGBA, row-major, whatever the file held (grey, palette, 16-bit, CMYK…). */
export interface Picture {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** The default pixel budget: pictures declaring more are refused before any decoding. */
export const defaultMaxPixels = 50_000_000;

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

// JPEG frame types jpeg-js decodes: baseline, extended and progressive Huffman.
const decodableSof = new Set([0xc0, 0xc1, 0xc2]);
// Formats people try, named in the error instead of their first bytes.
const otherFormats: [string, RegExp][] = [
  ['GIF', /^GIF8/],
  ['BMP', /^BM/],
  ['WebP', /^RIFF....WEBP/s],
  ['TIFF', /^(II\*\0|MM\0\*)/],
];
const sofNames: Record<number, string> = { 3: 'lossless', 5: 'hierarchical', 6: 'hierarchical', 7: 'hierarchical' };

/**
 * The format and declared size of a PNG (its IHDR chunk) or JPEG (its first frame header), and
 * the JPEG's Exif orientation (1–8; 1 = as stored).
 */
export function pictureHeader(
  bytes: Uint8Array,
  name: string,
): { format: 'PNG' | 'JPEG'; width: number; height: number; orientation: number } {
  const u16 = (i: number) => (bytes[i] << 8) | bytes[i + 1];
  const u32 = (i: number) => u16(i) * 65536 + u16(i + 2);
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  const ascii = (i: number, n: number) => String.fromCharCode(...bytes.subarray(i, i + n));
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) {
    if (bytes.length < 24 || u32(8) !== 13 || ascii(12, 4) !== 'IHDR') {
      throw new DataFormatError(`${name}: truncated or damaged PNG — no image header (IHDR) after the signature`);
    }
    const [width, height] = [u32(16), u32(20)];
    if (!width || !height) throw new DataFormatError(`${name}: PNG header declares ${width}×${height} pixels`);
    return { format: 'PNG', width, height, orientation: 1 };
  }
  if (starts(0xff, 0xd8, 0xff)) {
    let orientation = 1;
    for (let i = 2; i + 4 <= bytes.length; ) {
      if (bytes[i] !== 0xff) throw new DataFormatError(`${name}: damaged JPEG — no marker at byte ${i}`);
      const m = bytes[i + 1];
      if (m === 0xff) {
        i++; // fill byte
        continue;
      }
      if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
        i += 2; // markers without a length
        continue;
      }
      if (m === 0xd9 || m === 0xda) break;
      if (m === 0xe1 && ascii(i + 4, 6) === 'Exif\0\0')
        orientation = exifOrientation(bytes.subarray(i + 10, i + 2 + u16(i + 2)));
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
        if (!decodableSof.has(m)) {
          const kind = sofNames[m & 0x0f] ?? 'arithmetic-coded';
          throw new DataFormatError(
            `${name}: ${kind} JPEG (SOF${m & 0x0f}) is not supported — save it as a baseline JPEG or PNG`,
          );
        }
        if (i + 9 > bytes.length) break;
        const [height, width] = [u16(i + 5), u16(i + 7)];
        if (!width || !height)
          throw new DataFormatError(`${name}: JPEG frame header declares ${width}×${height} pixels — not supported`);
        return { format: 'JPEG', width, height, orientation };
      }
      i += 2 + u16(i + 2);
    }
    throw new DataFormatError(`${name}: truncated or damaged JPEG — no frame header (SOF) before the image data`);
  }
  const other = otherFormats.find(([, magic]) => magic.test(ascii(0, 12)));
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const what = other ? `a ${other[0]} file` : bytes.length ? `it starts with ${head}` : 'the file is empty';
  throw new DataFormatError(`${name}: not a PNG or JPEG image (${what}) — convert it to PNG`);
}

// The Orientation tag (0x0112) of an Exif block's first IFD; 1 when absent or unreadable.
function exifOrientation(t: Uint8Array): number {
  const le = t[0] === 0x49; // "II": little-endian; "MM": big-endian
  const u16 = (i: number) => (i + 2 > t.length ? 0 : le ? t[i] | (t[i + 1] << 8) : (t[i] << 8) | t[i + 1]);
  const ifd = le ? u16(4) + u16(6) * 65536 : u16(4) * 65536 + u16(6);
  for (let k = 0, n = u16(ifd); k < n; k++) {
    const e = ifd + 2 + 12 * k;
    if (u16(e) === 0x0112) return u16(e + 8) >= 1 && u16(e + 8) <= 8 ? u16(e + 8) : 1;
  }
  return 1;
}

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
