import { DataFormatError } from '../errors.js';

/**
 * The regular files of a tar archive (ustar or GNU), name → contents (views into `bytes`).
 * Just enough tar for data-set archives: no links, devices or sparse files.
 */
export function readTar(bytes: Uint8Array, path: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let longName: string | null = null;
  for (let at = 0; at + 512 <= bytes.length; ) {
    const h = bytes.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break; // end-of-archive block
    const sum = h.reduce((s, b, i) => s + (i >= 148 && i < 156 ? 32 : b), 0);
    const stored = octal(h, 148, 8);
    if (sum !== stored)
      throw new DataFormatError(
        `${path}: tar header at byte ${at} has checksum ${stored}, computed ${sum} — not a tar archive or corrupted`,
      );
    const size = octal(h, 124, 12);
    const type = String.fromCharCode(h[156] || 0x30);
    const prefix = text(h, 345, 155);
    const name =
      longName ?? (prefix && h[257] === 0x75 /* "ustar" */ ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    const data = bytes.subarray(at + 512, at + 512 + size);
    if (data.length !== size)
      throw new DataFormatError(
        `${path}: ${name} needs ${size} bytes at byte ${at + 512}, the archive ends after ${data.length} — truncated`,
      );
    longName = null;
    if (type === 'L') longName = text(data, 0, size);
    else if (type === '0') files.set(name, data);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function text(b: Uint8Array, from: number, len: number): string {
  const s = b.subarray(from, from + len);
  const end = s.indexOf(0);
  return new TextDecoder().decode(end < 0 ? s : s.subarray(0, end));
}

function octal(b: Uint8Array, from: number, len: number): number {
  const s = text(b, from, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}
