import { deflateSync } from 'node:zlib';
import type { MapStack } from './api-types.js';

// Picture stacks (filters, feature maps) as the server hands them out and report.html keeps them:
// bytes, deflated, in base64 (PackedValues); the page unpacks them. A convts-cifar run's filters
// are 2 million numbers: 4.6 MB of JSON as decimals.

const isStack = (v: unknown): v is MapStack =>
  v !== null && typeof v === 'object' && Array.isArray((v as MapStack).shape) && Array.isArray((v as MapStack).data);

/**
 * A stack's values as bytes, each picture in 256 steps of its own range (the page draws every map
 * scaled on its own), filters in steps of their layer's (they are drawn on one scale): a tenth of
 * the numbers as JSON, and no difference on the screen.
 */
function pack(m: MapStack): MapStack {
  const [count] = m.shape;
  const parts = 'inChannels' in m || count === 0 ? 1 : count;
  const per = m.data.length / parts;
  const lo: number[] = [];
  const hi: number[] = [];
  const bytes = new Uint8Array(m.data.length);
  for (let i = 0; i < parts; i++) {
    let a = Infinity;
    let b = -Infinity;
    for (let j = i * per; j < (i + 1) * per; j++) {
      a = Math.min(a, m.data[j]);
      b = Math.max(b, m.data[j]);
    }
    const span = b - a || 1;
    for (let j = i * per; j < (i + 1) * per; j++) bytes[j] = Math.round((255 * (m.data[j] - a)) / span);
    lo.push(per ? a : 0);
    hi.push(per ? b : 0);
  }
  return { ...m, data: [], packed: { lo, hi, deflated: deflateSync(bytes).toString('base64') } };
}

/** A JSON.stringify replacer that packs every picture stack. */
export const packStacks = (_key: string, v: unknown): unknown => (isStack(v) ? pack(v) : v);
