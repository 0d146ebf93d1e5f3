// The zip reader of dropped picture folders: what it reads, and every lie it refuses before it
// inflates (truncated archives, sizes that cannot be, bombs, encrypted and zip64 archives, bad CRCs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ZipEntry, zipEntries, zipEntryBytes } from '../src/data/zip.js';
import { DataFormatError } from '../src/errors.js';
import { zipBytes } from './helpers/zip.js';

const text = (s: string) => new TextEncoder().encode(s);
const files = [
  { name: 'photos/', data: new Uint8Array(0), method: 0 as const },
  { name: 'photos/cat/1.png', data: text('stored bytes'), method: 0 as const },
  { name: 'photos/dog/ü.png', data: text('deflated '.repeat(200)) },
];

async function readAll(zip: Uint8Array, limits?: Parameters<typeof zipEntries>[2]) {
  const entries = zipEntries(zip, 'a.zip', limits);
  return Promise.all(
    entries.map(async (e) => [e.name, new TextDecoder().decode(await zipEntryBytes(zip, e, 'a.zip'))]),
  );
}

const refuses = async (f: () => unknown, message: RegExp) =>
  assert.rejects(
    async () => f(),
    (e: Error) => {
      assert.ok(e instanceof DataFormatError, `${e.name}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    },
  );

test('stored and deflated entries come back whole, folders left out, UTF-8 names kept', async () => {
  assert.deepEqual(await readAll(zipBytes(files)), [
    ['photos/cat/1.png', 'stored bytes'],
    ['photos/dog/ü.png', 'deflated '.repeat(200)],
  ]);
  // A trailing comment is allowed.
  const zip = zipBytes(files);
  const commented = Buffer.concat([zip, Buffer.from('hello')]);
  commented.writeUInt16LE(5, zip.length - 2);
  assert.equal((await readAll(commented)).length, 2);
});

test('not a zip, or one cut short: no end record, said which', async () => {
  await refuses(() => zipEntries(text('this is a text file, not an archive'), 'a.zip'), /a\.zip: not a zip archive/);
  await refuses(() => zipEntries(new Uint8Array(0), 'a.zip'), /not a zip archive/);
  const zip = zipBytes(files);
  for (const cut of [zip.length - 1, zip.length - 30, 40])
    await refuses(() => zipEntries(zip.subarray(0, cut), 'a.zip'), /a\.zip: .*(cut short|damaged)/);
});

test('sizes that lie are refused before anything is inflated', async () => {
  const zip = zipBytes(files);
  const cd = zip.readUInt32LE(zip.length - 6);
  const second = cd + 46 + 'photos/'.length; // the stored entry's record
  // A stored entry whose sizes differ.
  const a = Buffer.from(zip);
  a.writeUInt32LE(5000, second + 24);
  await refuses(() => zipEntries(a, 'a.zip'), /photos\/cat\/1\.png: declares 5000 bytes from 12 stored bytes/);
  // Compressed bytes that run past the entries.
  const b = Buffer.from(zip);
  b.writeUInt32LE(100_000, second + 20);
  b.writeUInt32LE(100_000, second + 24);
  await refuses(() => zipEntries(b, 'a.zip'), /photos\/cat\/1\.png: its 100000 bytes .* run past/);
  // A deflated entry claiming more than deflate can expand to.
  const third = second + 46 + 'photos/cat/1.png'.length;
  const c = Buffer.from(zip);
  c.writeUInt32LE(2 ** 31, third + 24);
  await refuses(
    () => zipEntries(c, 'a.zip'),
    /ü\.png: declares 2147483648 bytes from \d+ compressed bytes, which cannot be/,
  );
  // A deflated entry that inflates to less, or more, than it declares.
  const entry = zipEntries(zip, 'a.zip')[1];
  await refuses(
    () => zipEntryBytes(zip, { ...entry, size: entry.size + 7 }, 'a.zip'),
    /inflates to 1800 bytes, the directory says 1807/,
  );
  await refuses(() => zipEntryBytes(zip, { ...entry, size: 100 }, 'a.zip'), /inflates to more than 100 bytes/);
  // A local header that is not where the directory says.
  const d = Buffer.from(zip);
  d.writeUInt32LE(3, second + 42);
  await refuses(() => zipEntries(d, 'a.zip'), /no local header at byte 3/);
});

test('a zip bomb (more uncompressed than the limit) and too many entries are refused from the directory', async () => {
  const zip = zipBytes(files);
  await refuses(
    () => zipEntries(zip, 'a.zip', { maxTotal: 1000, maxEntries: 10 }),
    /more than 0\.0 MB uncompressed \(a zip bomb/,
  );
  await refuses(() => zipEntries(zip, 'a.zip', { maxTotal: 1e9, maxEntries: 2 }), /3 entries, more than the 2 allowed/);
});

test('a bad CRC, damaged deflate data, encryption, zip64 and other methods are named', async () => {
  const zip = zipBytes(files);
  const [stored, deflated] = zipEntries(zip, 'a.zip');
  await refuses(
    () => zipEntryBytes(zip, { ...stored, crc: stored.crc ^ 1 }, 'a.zip'),
    /1\.png: CRC-32 [0-9a-f]{8} does not match/,
  );
  const broken = Buffer.from(zip);
  broken.fill(0xff, deflated.dataStart, deflated.dataStart + 8);
  await refuses(
    () => zipEntryBytes(broken, deflated, 'a.zip'),
    /ü\.png: the deflate data is damaged|ü\.png: (inflates|CRC)/,
  );
  await refuses(
    () => zipEntries(zipBytes([{ name: 'x.png', data: text('x'), flags: 1 }]), 'a.zip'),
    /x\.png is encrypted/,
  );
  const other = zipBytes([{ name: 'x.png', data: text('x'), method: 0 }]);
  const cd = other.readUInt32LE(other.length - 6);
  other.writeUInt16LE(12, cd + 10);
  await refuses(() => zipEntries(other, 'a.zip'), /compression method 12 is not supported/);
  const z64 = zipBytes([{ name: 'x.png', data: text('x'), method: 0 }]);
  z64.writeUInt32LE(0xffffffff, z64.length - 6);
  await refuses(() => zipEntries(z64, 'a.zip'), /zip64 archives .* not supported/);
  const many = Buffer.from(zip);
  many.writeUInt16LE(7, zip.length - 12);
  await refuses(() => zipEntries(many, 'a.zip'), /multi-part/);
});

test('random damage gives a valid archive or a DataFormatError, never another error or a hang', async () => {
  const zip = zipBytes(files);
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  for (let k = 0; k < 400; k++) {
    const d = Buffer.from(zip);
    for (let j = 0; j < 1 + rand(4); j++) d[rand(d.length)] = rand(256);
    try {
      const entries: ZipEntry[] = zipEntries(d, 'a.zip');
      for (const e of entries) await zipEntryBytes(d, e, 'a.zip');
    } catch (e) {
      assert.ok(e instanceof DataFormatError, `damage ${k}: ${(e as Error).stack}`);
    }
  }
});
