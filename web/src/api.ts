import type { MapStack } from '../../src/serve/api-types.js';

// Every request the page makes goes through here: to the server that served it, or, in a saved
// report, to the answers inlined into the page when it was written.

declare global {
  interface Window {
    /** A saved report's answers, keyed by request ("/api/run?id=…"). */
    CONVTS_DATA?: Record<string, unknown>;
  }
}

export const inlined = () => window.CONVTS_DATA !== undefined;

/** The key a request is filed under, in the page and in a saved report alike. */
export function requestKey(path: string, params: Record<string, string | number> = {}): string {
  const q = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
  return q ? `${path}?${q}` : path;
}

/** GETs JSON from the server (or the report's inlined answers); a refusal throws its message. */
export async function get<T>(path: string, params: Record<string, string | number> = {}): Promise<T> {
  const key = requestKey(path, params);
  const data = window.CONVTS_DATA;
  if (data) {
    if (key in data) return (await unpack(data[key])) as T;
    throw new Error('not saved in this report — open the run with convts serve to see it');
  }
  const r = await fetch(key);
  const body = await r.json().catch(() => ({ error: `${r.status} ${r.statusText}` }));
  if (!r.ok) throw new Error(body.error ?? `${r.status} ${r.statusText}`);
  return (await unpack(body)) as T;
}

/** Unpacks, in place, the picture stacks the server sends and a saved report holds as deflated bytes (PackedValues). */
async function unpack(x: unknown): Promise<unknown> {
  if (x === null || typeof x !== 'object') return x;
  const m = x as MapStack;
  if (m.packed) {
    const { lo, hi, deflated } = m.packed;
    const raw = Uint8Array.from(atob(deflated), (c) => c.charCodeAt(0));
    const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream('deflate'));
    const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    const per = bytes.length / lo.length;
    m.data = Array.from(bytes, (b, j) => {
      const i = Math.floor(j / per);
      return lo[i] + ((hi[i] - lo[i]) * b) / 255;
    });
    delete m.packed;
  }
  for (const v of Object.values(x)) if (v !== null && typeof v === 'object') await unpack(v);
  return x;
}

/** POSTs a file and returns the JSON answer. */
export async function post<T>(path: string, params: Record<string, string | number>, body: Blob): Promise<T> {
  if (inlined()) throw new Error('uploads need the live server: open the run with convts serve');
  const r = await fetch(requestKey(path, params), { method: 'POST', body });
  const json = await r.json().catch(() => ({ error: `${r.status} ${r.statusText}` }));
  if (!r.ok) throw new Error(json.error ?? `${r.status} ${r.statusText}`);
  return (await unpack(json)) as T;
}
