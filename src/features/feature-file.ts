import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError, DataFormatError, FileError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { onFile, readFileChecked } from '../files/checked.js';
import { FeatureDataset } from './dataset.js';

// Layout: "CVTSFEAT", uint32 version, uint32 header length, header JSON (space-padded so the
// data starts 4-byte aligned), then per split its features (float32 LE) and labels (uint8,
// zero-padded to 4 bytes), then the SHA-256 of everything before it.
const magic = 'CVTSFEAT';
export const featureFileVersion = 1;
const digestBytes = 32;

/** What a feature file says about itself; `key` identifies the inputs that made it. */
export interface FeatureHeader {
  key: string;
  /** The inputs the key hashes, kept readable. */
  about: Record<string, unknown>;
  dim: number;
  classNames: string[];
  splits: { name: string; length: number }[];
}

const pad4 = (n: number) => (n + 3) & ~3;

function checkLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new ConfigError('feature files are little-endian and this machine is big-endian');
  }
}

/** Writes the splits and their header to `path` atomically, with a checksum; returns the header. */
export function writeFeatureFile(
  path: string,
  h: Omit<FeatureHeader, 'splits' | 'dim' | 'classNames'>,
  splits: FeatureDataset[],
): FeatureHeader {
  const { header, bytes } = encodeFeatureFile(h, splits);
  writeFileAtomic(path, bytes);
  return header;
}

/** The bytes of a feature file holding `splits`, and its header. */
export function encodeFeatureFile(
  h: Omit<FeatureHeader, 'splits' | 'dim' | 'classNames'>,
  splits: FeatureDataset[],
): { header: FeatureHeader; bytes: Buffer } {
  checkLittleEndian();
  const header: FeatureHeader = {
    ...h,
    dim: splits[0].dim,
    classNames: [...splits[0].classNames],
    splits: splits.map((s) => ({ name: s.name, length: s.length })),
  };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  json = Buffer.concat([json, Buffer.alloc(pad4(16 + json.length) - 16 - json.length, 0x20)]);
  const body = splits.reduce((s, d) => s + d.features.byteLength + pad4(d.length), 0);
  const buf = Buffer.alloc(16 + json.length + body + digestBytes);
  buf.write(magic, 0, 'latin1');
  buf.writeUInt32LE(featureFileVersion, 8);
  buf.writeUInt32LE(json.length, 12);
  json.copy(buf, 16);
  let o = 16 + json.length;
  for (const s of splits) {
    buf.set(new Uint8Array(s.features.buffer, s.features.byteOffset, s.features.byteLength), o);
    o += s.features.byteLength;
    buf.set(s.labels, o);
    o += pad4(s.length);
  }
  createHash('sha256').update(buf.subarray(0, o)).digest().copy(buf, o);
  return { header, bytes: buf };
}

/** The header of a feature file, read without the data; throws DataFormatError if it is not one. */
export function readFeatureHeader(path: string): FeatureHeader {
  return onFile(path, 'cannot read', () => {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const pre = Buffer.alloc(16);
      const got = readSync(fd, pre, 0, 16, 0);
      const len = checkPreamble(pre.subarray(0, got), path, size);
      const json = Buffer.alloc(len);
      if (readSync(fd, json, 0, len, 16) !== len) throw new DataFormatError(`${path}: truncated feature file header`);
      return parseHeader(json, path);
    } finally {
      closeSync(fd);
    }
  });
}

/** Reads and verifies a feature file: its train and test splits as data sets, and its header. */
export function readFeatureFile(path: string): { header: FeatureHeader; splits: FeatureDataset[] } {
  checkLittleEndian();
  let b: Buffer;
  try {
    b = readFileChecked(path);
  } catch (e) {
    if (e instanceof FileError && e.code === 'ENOENT')
      throw new ConfigError(`${path} not found — make it with convts features --out ${path}`);
    throw e;
  }
  return decodeFeatureFile(b, path);
}

/** A feature file's bytes → its header and splits, verified; see readFeatureFile. */
export function decodeFeatureFile(b: Buffer, path: string): { header: FeatureHeader; splits: FeatureDataset[] } {
  const len = checkPreamble(b, path, b.length);
  const header = parseHeader(b.subarray(16, 16 + len), path);
  const body = header.splits.reduce((s, d) => s + d.length * header.dim * 4 + pad4(d.length), 0);
  const want = 16 + len + body + digestBytes;
  if (b.length !== want) {
    throw new DataFormatError(
      `${path}: ${b.length} bytes, the header promises ${want} — the file is truncated or damaged; delete it to rebuild`,
    );
  }
  const end = b.length - digestBytes;
  const digest = createHash('sha256').update(b.subarray(0, end)).digest();
  if (!digest.equals(b.subarray(end))) {
    throw new DataFormatError(`${path}: checksum mismatch — the file is damaged; delete it to rebuild`);
  }
  let o = 16 + len;
  const splits = header.splits.map((s) => {
    const n = s.length * header.dim;
    // Copy out: the Buffer may not sit 4-byte aligned in its ArrayBuffer.
    const features = new Float32Array(n);
    new Uint8Array(features.buffer).set(b.subarray(o, o + 4 * n));
    o += 4 * n;
    const labels = Uint8Array.from(b.subarray(o, o + s.length));
    const bad = labels.findIndex((l) => l >= header.classNames.length);
    if (bad >= 0)
      throw new DataFormatError(
        `${path}: split "${s.name}", sample ${bad} has label ${labels[bad]} but the header names only ${header.classNames.length} classes — the file is inconsistent; rebuild it`,
      );
    o += pad4(s.length);
    return new FeatureDataset(s.name, features, labels, header.dim, header.classNames);
  });
  return { header, splits };
}

/** The header length after checking magic and version; a length the file cannot hold is refused before any allocation. */
function checkPreamble(b: Uint8Array, path: string, fileSize: number): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length < 16 || buf.toString('latin1', 0, 8) !== magic) {
    throw new DataFormatError(`${path}: not a convts feature file (no "${magic}" magic number)`);
  }
  const v = buf.readUInt32LE(8);
  if (v !== featureFileVersion) {
    throw new DataFormatError(
      `${path}: feature file version ${v}, this convts reads version ${featureFileVersion} — rebuild it with convts features`,
    );
  }
  const len = buf.readUInt32LE(12);
  if (16 + len + digestBytes > fileSize)
    throw new DataFormatError(
      `${path}: the header claims ${len} bytes, the file has only ${fileSize} — the file is truncated or damaged; delete it to rebuild`,
    );
  return len;
}

function parseHeader(json: Uint8Array, path: string): FeatureHeader {
  let h: FeatureHeader;
  try {
    h = JSON.parse(Buffer.from(json).toString('utf8')) as FeatureHeader;
  } catch {
    throw new DataFormatError(
      `${path}: the feature file header is not valid JSON — the file is damaged; delete it to rebuild`,
    );
  }
  const ok =
    typeof h?.key === 'string' &&
    Number.isInteger(h.dim) &&
    h.dim > 0 &&
    Array.isArray(h.classNames) &&
    Array.isArray(h.splits) &&
    h.splits.every((s) => typeof s?.name === 'string' && Number.isInteger(s.length) && s.length >= 0);
  if (!ok) throw new DataFormatError(`${path}: the feature file header lacks key, dim, classNames or splits`);
  if (h.classNames.length < 2 || h.classNames.length > 256 || !h.classNames.every((c) => typeof c === 'string'))
    throw new DataFormatError(
      `${path}: the header's classNames must be 2 to 256 names, got ${h.classNames.length} — the file is damaged; delete it to rebuild`,
    );
  return h;
}
