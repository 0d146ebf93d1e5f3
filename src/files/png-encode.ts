import { deflateSync } from 'node:zlib';
import { crc32 } from './crc32.js';

// The report's and the dashboard's pictures as PNG files. Every row is stored with the "Up" filter (its difference
// from the row above): the pictures are blocks of flat colour, so most of a row is zeros and
// deflate packs it small. One filter and one pass are several times faster than trying all five
// filters on every row, as general PNG encoders do, and the files come out smaller.

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

/** 8-bit pixels, row by row, as a PNG file: RGBA, or with `channels` 3 RGB and 1 grey. */
export function encodePng(
  width: number,
  height: number,
  rgba: Uint8Array | Uint8ClampedArray,
  channels: 1 | 3 | 4 = 4,
): Uint8Array {
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  const src = Buffer.from(rgba.buffer, rgba.byteOffset, stride * height);
  // Four bytes a step: each byte of a word minus the one above it, mod 256, without borrows
  // crossing into the next byte (the "subtract bytes in a word" trick of Hacker's Delight).
  const aligned =
    rgba.byteOffset % 4 === 0 ? new Uint32Array(rgba.buffer, rgba.byteOffset, (stride * height) >> 2) : null;
  const diff = new Uint32Array(stride >> 2);
  const diffBytes = Buffer.from(diff.buffer);
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    const row = y * stride;
    raw[o] = 2; // Up
    if (y === 0) raw.set(src.subarray(0, stride), o + 1);
    // A row like the one above (most rows of a blocky picture) stays zeros.
    else if (src.compare(src, row - stride, row, row, row + stride) === 0) continue;
    else if (aligned && stride % 4 === 0) {
      const a0 = row >> 2;
      const b0 = (row - stride) >> 2;
      for (let i = 0; i < diff.length; i++) {
        const a = aligned[a0 + i];
        const b = aligned[b0 + i];
        diff[i] = ((a | 0x80808080) - (b & 0x7f7f7f7f)) ^ ((a ^ ~b) & 0x80808080);
      }
      raw.set(diffBytes, o + 1);
    } else for (let i = 0; i < stride; i++) raw[o + 1 + i] = rgba[row + i] - rgba[row - stride + i];
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, { 1: 0, 3: 2, 4: 6 }[channels], 0, 0, 0], 8); // 8 bits, grey/RGB/RGBA, deflate, adaptive filtering, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    // Level 3: a third of level 6's time on these pictures, files ≈ 15 % larger.
    chunk('IDAT', deflateSync(raw, { level: 3 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
