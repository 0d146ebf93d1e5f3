// A zip archive held in memory, read just far enough for a folder of pictures: the end-of-central-
// directory record, the central directory, each entry's local header; stored and deflated entries,
// inflated by the platform's DecompressionStream (browsers and Node) and checked against their CRC-32.
// Everything a header claims is checked against the archive before it is believed. No Node import.
import { DataFormatError } from '../errors.js';
import { crc32 } from '../files/crc32.js';

/** One file of the archive, as its central-directory record describes it. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  /** Where its (compressed) bytes start in the archive. */
  dataStart: number;
}

export interface ZipLimits {
  /** The most the entries may hold uncompressed, together (a zip bomb declares more). */
  maxTotal: number;
  maxEntries: number;
}

export const defaultZipLimits: ZipLimits = { maxTotal: 2 ** 30, maxEntries: 200_000 };

/** Deflate's largest expansion is about 1032:1: an entry declaring more than that is lying. */
const maxRatio = 1032;

const eocdSig = 0x06054b50;
const zip64LocatorSig = 0x07064b50;
const centralSig = 0x02014b50;
const localSig = 0x04034b50;

const mb = (n: number) => `${(n / 2 ** 20).toFixed(n < 2 ** 24 ? 1 : 0)} MB`;

/**
 * The file entries of a zip archive (folders left out), every offset and size checked against the
 * archive: a truncated or lying archive, a multi-part, zip64 or encrypted one, an unknown
 * compression method or more than the limits allow is a DataFormatError naming `name` (and the entry).
 */
export function zipEntries(bytes: Uint8Array, name: string, limits: ZipLimits = defaultZipLimits): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (i: number) => view.getUint16(i, true);
  const u32 = (i: number) => view.getUint32(i, true);
  const bad = (what: string) => new DataFormatError(`${name}: ${what}`);
  // The record is 22 bytes plus a comment of at most 65,535, at the very end.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65_535); i--) {
    if (u32(i) === eocdSig && i + 22 + u16(i + 20) <= bytes.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    const looksLikeZip = bytes.length >= 4 && u32(0) === localSig;
    throw bad(
      looksLikeZip
        ? 'the zip archive is cut short (no end-of-central-directory record) — copy or download it again'
        : 'not a zip archive (no end-of-central-directory record) — give a .zip of folders of pictures',
    );
  }
  const count = u16(eocd + 10);
  const cdSize = u32(eocd + 12);
  const cdStart = u32(eocd + 16);
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0 || u16(eocd + 8) !== count)
    throw bad('a multi-part (split) zip archive is not supported — make one .zip file');
  if (
    count === 0xffff ||
    cdSize === 0xffffffff ||
    cdStart === 0xffffffff ||
    (eocd >= 20 && u32(eocd - 20) === zip64LocatorSig)
  )
    throw bad('zip64 archives (over 4 GB or 65,535 files) are not supported — make a smaller zip');
  if (cdStart + cdSize > eocd)
    throw bad(
      `the central directory (${cdSize} bytes at byte ${cdStart}) does not fit before its end record at byte ${eocd} — the archive is damaged or cut short`,
    );
  if (count > limits.maxEntries)
    throw bad(`${count} entries, more than the ${limits.maxEntries} allowed — give fewer files`);
  const entries: ZipEntry[] = [];
  let total = 0;
  for (let k = 0, at = cdStart; k < count; k++) {
    if (at + 46 > cdStart + cdSize || u32(at) !== centralSig)
      throw bad(`central-directory record ${k} of ${count} (at byte ${at}) is missing or damaged`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc = u32(at + 16);
    const compressedSize = u32(at + 20);
    const size = u32(at + 24);
    const [nameLen, extraLen, commentLen] = [u16(at + 28), u16(at + 30), u16(at + 32)];
    const offset = u32(at + 42);
    if (at + 46 + nameLen > cdStart + cdSize) throw bad(`central-directory record ${k} runs past the directory`);
    const entryName = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLen));
    at += 46 + nameLen + extraLen + commentLen;
    const where = `${name}: ${entryName}`;
    if (entryName.endsWith('/')) continue; // a folder
    if (flags & 1)
      throw new DataFormatError(
        `${where} is encrypted — encrypted zip archives are not supported; zip it without a password`,
      );
    if (compressedSize === 0xffffffff || size === 0xffffffff || offset === 0xffffffff)
      throw new DataFormatError(`${where}: zip64 entries (over 4 GB) are not supported`);
    if (method !== 0 && method !== 8)
      throw new DataFormatError(
        `${where}: compression method ${method} is not supported (only stored and deflate) — zip it with the usual deflate`,
      );
    if ((method === 0 && size !== compressedSize) || size > compressedSize * maxRatio + 64)
      throw new DataFormatError(
        `${where}: declares ${size} bytes from ${compressedSize} ${method === 0 ? 'stored' : 'compressed'} bytes, which cannot be — the archive is damaged`,
      );
    total += size;
    if (total > limits.maxTotal)
      throw bad(
        `the entries hold more than ${mb(limits.maxTotal)} uncompressed (a zip bomb, or too much for the page) — give a smaller zip`,
      );
    if (offset + 30 > cdStart || u32(offset) !== localSig)
      throw new DataFormatError(`${where}: no local header at byte ${offset} — the archive is damaged`);
    const dataStart = offset + 30 + u16(offset + 26) + u16(offset + 28);
    if (dataStart + compressedSize > cdStart)
      throw new DataFormatError(
        `${where}: its ${compressedSize} bytes at byte ${dataStart} run past the entries' end (byte ${cdStart}) — the archive is damaged or its sizes lie`,
      );
    entries.push({ name: entryName, method, compressedSize, size, crc, dataStart });
  }
  return entries;
}

/** Inflates raw deflate data to at most `max` bytes (more is refused as soon as it appears). */
export type InflateRaw = (data: Uint8Array, max: number) => Promise<Uint8Array>;

/** An entry's bytes: inflated when deflated, their length and CRC-32 checked against the directory. */
export async function zipEntryBytes(
  bytes: Uint8Array,
  e: ZipEntry,
  name: string,
  inflate: InflateRaw = inflateRaw,
): Promise<Uint8Array> {
  const where = `${name}: ${e.name}`;
  const raw = bytes.subarray(e.dataStart, e.dataStart + e.compressedSize);
  let out: Uint8Array;
  try {
    out = e.method === 0 ? raw : await inflate(raw, e.size);
  } catch (err) {
    throw new DataFormatError(`${where}: the deflate data is damaged (${(err as Error).message})`);
  }
  if (out.length !== e.size) {
    const got = out.length > e.size ? `more than ${e.size}` : `${out.length}`;
    throw new DataFormatError(
      `${where}: inflates to ${got} bytes, the directory says ${e.size} — the archive is damaged`,
    );
  }
  const sum = crc32(out);
  if (sum !== e.crc)
    throw new DataFormatError(
      `${where}: CRC-32 ${hex(sum)} does not match the directory's ${hex(e.crc)} — the archive is damaged`,
    );
  return out;
}

const hex = (n: number) => n.toString(16).padStart(8, '0');

/**
 * Raw deflate through DecompressionStream('deflate-raw'), stopped one byte past `max`: a stream
 * that inflates to more than its entry declares costs no more than the declaration.
 */
export async function inflateRaw(data: Uint8Array, max: number): Promise<Uint8Array> {
  const stream = new DecompressionStream('deflate-raw');
  const writer = stream.writable.getWriter();
  writer.write(data as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  const reader = stream.readable.getReader();
  const out = new Uint8Array(max + 1);
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const take = Math.min(value.length, out.length - n);
    out.set(value.subarray(0, take), n);
    n += take;
    if (n > max) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return out.subarray(0, n);
}
