// A few DOM helpers: the page is plain TypeScript, no framework.

type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;
type Child = Node | string | number | null | undefined | false;

/** An element with attributes (on* keys become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat())
    if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}

/** A titled section of a page. */
export function section(title: string, note: string | null, ...body: (Child | Child[])[]): HTMLElement {
  return h('section', {}, h('h2', {}, title), note ? h('p', { class: 'note' }, note) : null, ...body);
}

export const pct = (x: number | null | undefined, d = 2) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(d)} %`;
export const fixed = (x: unknown, d = 4) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');

/** Seconds as "12.3 s", "4 min 05 s" or "1 h 02 min". */
export function duration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** A table whose rows are given as cells; `numeric` columns are right-aligned. */
export function table(head: string[], rows: Child[][], numeric: number[] = []): HTMLElement {
  const cell = (tag: 'td' | 'th', c: Child, i: number) => h(tag, { class: numeric.includes(i) ? 'num' : null }, c);
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((c, i) => cell('th', c, i)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((c, i) => cell('td', c, i)),
          ),
        ),
      ),
    ),
  );
}

/** Saves a blob under `name` through a temporary link. */
export function download(name: string, blob: Blob): void {
  const a = h('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
