// What a PNG or JPEG file's header says (format, size, Exif orientation), read without decoding it:
// no Node import, so the command line and the playground's worker check pictures by one rule.
import { DataFormatError } from '../errors.js';

/** A decoded picture: 8-bit RGBA, row-major, whatever the file held (grey, palette, 16-bit, CMYK…). */
export interface Picture {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** The default pixel budget: pictures declaring more are refused before any decoding. */
export const defaultMaxPixels = 50_000_000;

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

/** The picture's size as a viewer shows it: width and height swapped by the Exif orientations 5–8. */
export function uprightSize(h: { width: number; height: number; orientation: number }): {
  width: number;
  height: number;
} {
  return h.orientation >= 5 ? { width: h.height, height: h.width } : { width: h.width, height: h.height };
}
