// A small zip writer for the tests: stored or deflated entries (node:zlib), one archive in memory.
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/files/crc32.js';

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** 0 stored, 8 deflated (default). */
  method?: 0 | 8;
  /** General-purpose flags (1 marks an encrypted entry). */
  flags?: number;
}

/** The archive: local headers and data, the central directory, the end record. */
export function zipBytes(files: ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const method = f.method ?? 8;
    const body = method === 8 ? deflateRawSync(f.data) : Buffer.from(f.data);
    const name = Buffer.from(f.name, 'utf8');
    const common = (h: Buffer, at: number) => {
      h.writeUInt16LE(20, at); // version needed
      h.writeUInt16LE((f.flags ?? 0) | 0x800, at + 2); // UTF-8 names
      h.writeUInt16LE(method, at + 4);
      h.writeUInt32LE(crc32(f.data), at + 10);
      h.writeUInt32LE(body.length, at + 14);
      h.writeUInt32LE(f.data.length, at + 18);
      h.writeUInt16LE(name.length, at + 22);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    common(local, 4);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    common(central, 6);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
