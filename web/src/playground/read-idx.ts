// IDX files (and CIFAR-10 batches, see load-data.ts) in the browser: gzipped (the canonical downloads) or raw, inflated by the browser's own
// DecompressionStream, then checked by the same parser the command line uses.
import { type IdxArray, parseIdx } from '../../../src/data/idx-bytes.js';

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** The bytes, inflated when gzipped; errors name the file. */
export async function inflate(raw: Uint8Array, name: string): Promise<Uint8Array> {
  return isGzip(raw) ? await gunzip(raw, name) : raw;
}

async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`${name}: the gzip data is damaged (${(e as Error).message}) — download the file again`);
  }
}

/** One IDX file of `dims` dimensions (3 for images, 1 for labels); errors name the file. */
export async function readSplit(buf: ArrayBuffer, name: string, dims: number): Promise<IdxArray> {
  const raw = new Uint8Array(buf);
  return parseIdx(await inflate(raw, name), name, dims);
}
