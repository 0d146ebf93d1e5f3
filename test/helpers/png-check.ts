import assert from 'node:assert/strict';
import { PNG } from 'pngjs';

/** Decodes a PNG and checks it is RGBA of the given size and not blank; returns its pixels. */
export function checkPng(
  png: Uint8Array,
  width?: number,
  height?: number,
  what = 'png',
): { width: number; height: number; data: Uint8Array } {
  const im = PNG.sync.read(Buffer.from(png));
  if (width !== undefined) assert.equal(im.width, width, `${what}: width`);
  if (height !== undefined) assert.equal(im.height, height, `${what}: height`);
  const counts = new Map<number, number>();
  const d = im.data;
  for (let i = 0; i < d.length; i += 4) {
    const key = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const background = Math.max(...counts.values());
  const pixels = im.width * im.height;
  assert.ok(counts.size >= 3, `${what} has only ${counts.size} colours`);
  assert.ok(
    pixels - background >= 0.02 * pixels,
    `${what} is ${((100 * background) / pixels).toFixed(1)} % one colour`,
  );
  return { width: im.width, height: im.height, data: d };
}
