// Damage for the fuzz campaign: random edits of bytes, of JSON values and of JSON-lines files.
import type { Rng } from '../src/tensor/rng.js';

export const pick = <T>(rng: Rng, a: readonly T[]): T => a[rng.int(a.length)];
export const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const edge = [0, 1, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** 1–4 of: bit flips, edge values in header fields, cuts, insertions, deletions, repeats. */
export function damage(b: Uint8Array, rng: Rng): { bytes: Uint8Array; note: string } {
  let x = Uint8Array.from(b);
  const notes: string[] = [];
  for (let k = 1 + rng.int(4); k > 0; k--) {
    const i = rng.int(Math.max(1, x.length));
    const kind = rng.int(6);
    if (kind === 0 && x.length) {
      x[i] ^= 1 << rng.int(8);
      notes.push(`flip@${i}`);
    } else if (kind === 1) {
      const at = rng.int(Math.min(64, Math.max(1, x.length - 3)));
      const v = edge[rng.int(edge.length)];
      if (at + 4 <= x.length) new DataView(x.buffer).setUint32(at, v, rng.int(2) === 0);
      notes.push(`u32@${at}=${v}`);
    } else if (kind === 2) {
      x = x.slice(0, i);
      notes.push(`cut@${i}`);
    } else if (kind === 3) {
      const n = 1 + rng.int(16);
      x = Uint8Array.from([...x.subarray(0, i), ...Array.from({ length: n }, () => rng.int(256)), ...x.subarray(i)]);
      notes.push(`insert${n}@${i}`);
    } else if (kind === 4) {
      const n = 1 + rng.int(64);
      x = Uint8Array.from([...x.subarray(0, i), ...x.subarray(i + n)]);
      notes.push(`delete${n}@${i}`);
    } else if (x.length < 1 << 20) {
      x = Uint8Array.from([...x, ...x]);
      notes.push('doubled');
    }
  }
  return { bytes: x, note: notes.join(' ') };
}

/** Values that break assumptions about a JSON field. */
export const hostileJson: unknown[] = [
  null,
  true,
  0,
  -1,
  0.5,
  1e308,
  -1e308,
  2 ** 31,
  2 ** 53 + 2,
  '',
  'x',
  'NaN',
  '1e9',
  '__proto__',
  'constructor',
  [],
  [0, 0],
  [null],
  {},
  { a: 1 },
  'é'.repeat(1000),
  [[[[[[[[[[]]]]]]]]]],
];

/** Replaces, removes or adds one field somewhere in a JSON value (or damages its text). */
export function damageJson(text: string, rng: Rng): { text: string; note: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    const d = damage(new TextEncoder().encode(text), rng);
    return { text: new TextDecoder().decode(d.bytes), note: d.note };
  }
  if (rng.int(5) === 0) {
    const d = damage(new TextEncoder().encode(text), rng);
    return { text: new TextDecoder().decode(d.bytes), note: `bytes ${d.note}` };
  }
  // Every path to a value, then one of them changed.
  const paths: (string | number)[][] = [[]];
  const walk = (x: unknown, p: (string | number)[]) => {
    const entries: [string | number, unknown][] = Array.isArray(x)
      ? x.slice(0, 50).map((y, k) => [k, y])
      : x && typeof x === 'object'
        ? Object.entries(x)
        : [];
    for (const [k, y] of entries) {
      paths.push([...p, k]);
      walk(y, [...p, k]);
    }
  };
  walk(v, []);
  const path = rng.int(8) === 0 ? [] : pick(rng, paths.slice(1).length ? paths.slice(1) : paths);
  const kind = rng.int(4);
  const value = pick(rng, hostileJson);
  const set = (root: unknown): unknown => {
    if (!path.length) return value;
    let o = root as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    if (kind === 1 && !Array.isArray(o)) delete o[last];
    else if (kind === 2 && !Array.isArray(o)) o.__extra = value;
    else o[last] = value;
    return root;
  };
  const out = set(v);
  const what =
    kind === 1
      ? 'removed'
      : kind === 2
        ? `added __extra=${JSON.stringify(value)?.slice(0, 30)} beside`
        : `=${JSON.stringify(value)?.slice(0, 30)}`;
  return { text: JSON.stringify(out) ?? 'undefined', note: `${path.join('.') || '(root)'} ${what}` };
}

/** A JSON-lines file with one line damaged (or removed, or repeated, or cut). */
export function damageJsonl(text: string, rng: Rng): { text: string; note: string } {
  const lines = text.split('\n').filter(Boolean);
  const i = rng.int(lines.length);
  const kind = rng.int(4);
  if (kind === 0) {
    const d = damageJson(lines[i], rng);
    lines[i] = d.text;
    return { text: `${lines.join('\n')}\n`, note: `line ${i + 1}: ${d.note}` };
  }
  if (kind === 1) return { text: `${lines.filter((_, j) => j !== i).join('\n')}\n`, note: `line ${i + 1} removed` };
  if (kind === 2) return { text: `${[...lines, lines[i]].join('\n')}\n`, note: `line ${i + 1} repeated` };
  return { text: lines.join('\n').slice(0, rng.int(text.length)), note: 'cut' };
}
