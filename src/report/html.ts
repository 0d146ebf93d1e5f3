// report.html: one self-contained page (pictures inlined as data: URIs, inline CSS, no network)
// that reads on a phone and on a desktop. Only the sweep page adds a script (sorting its table).

export interface Figure {
  /** Section id and anchor, e.g. "curves". */
  id: string;
  title: string;
  /** One line under the title saying how to read the picture. */
  caption: string;
  /** PNG files of the section, in order. */
  images: { alt: string; png: Uint8Array; width: number; height: number }[];
}

/** A table cell: text, a number, or a link (a relative address, so the page stays self-contained). */
export type Cell = string | number | { text: string; href: string };

export interface Table {
  head: string[];
  rows: Cell[][];
  /** Indices of columns that hold numbers (right-aligned). */
  numeric?: number[];
}

export interface ReportPage {
  title: string;
  /** Headline facts shown as tiles at the top, e.g. ["test accuracy", "98.7 %"]. */
  facts: [string, string][];
  figures: Figure[];
  /** Further sections of tables: summary details, hyperparameters, timings, machine. */
  tables: { id: string; title: string; tables: Table[] }[];
  generated: string;
  /** Inline JavaScript run at the end of the page. */
  script?: string;
  /** Put the tables before the figures (the sweep page leads with its ranking). */
  tablesFirst?: boolean;
}

const css = `
:root{--ink:#22222a;--mute:#667;--line:#dde;--bg:#f6f7fb;--card:#fff;--accent:#1f77b4}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 16px}
header{padding-top:24px}
h1{font-size:1.6rem;margin:0 0 12px;overflow-wrap:anywhere}
h2{font-size:1.25rem;margin:0 0 4px}
nav{display:flex;flex-wrap:wrap;gap:6px 14px;margin:0 0 16px;font-size:.95rem}
nav a{color:var(--accent);text-decoration:none}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin-bottom:16px}
.fact{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.fact b{display:block;font-size:1.3rem}
.fact span{color:var(--mute);font-size:.85rem}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px;margin:0 0 16px}
section p{color:var(--mute);margin:0 0 12px;font-size:.95rem}
figure{margin:0;overflow-x:auto}
.figs{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.figs img{display:block;max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
.scroll{overflow-x:auto;margin-bottom:12px}
table{border-collapse:collapse;font-size:.9rem;min-width:50%}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:var(--bg)}
#trials th{cursor:pointer}
code{font-size:.85rem;overflow-wrap:anywhere}
footer{color:var(--mute);font-size:.85rem;padding-bottom:24px}
@media (max-width:600px){body{font-size:15px}section{padding:12px}h1{font-size:1.3rem}}
`;

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A PNG as a data: URI, so the page needs no files beside it. */
export function dataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64')}`;
}

function table(t: Table): string {
  const num = new Set(t.numeric ?? []);
  const cell = (tag: string, v: Cell, i: number) =>
    `<${tag}${num.has(i) ? ' class="n"' : ''}>${
      typeof v === 'object' ? `<a href="${escapeHtml(v.href)}">${escapeHtml(v.text)}</a>` : escapeHtml(String(v))
    }</${tag}>`;
  return (
    `<div class="scroll"><table><thead><tr>${t.head.map((h, i) => cell('th', h, i)).join('')}</tr></thead>` +
    `<tbody>${t.rows.map((r) => `<tr>${r.map((v, i) => cell('td', v, i)).join('')}</tr>`).join('')}</tbody></table></div>`
  );
}

// A picture shrinks with the screen but not below 60 % of its size (its figure scrolls
// sideways instead), so that its 5×7-pixel labels stay readable on a phone.
function img(im: Figure['images'][number]): string {
  return (
    `<figure><img src="${dataUri(im.png)}" alt="${escapeHtml(im.alt)}" width="${im.width}" height="${im.height}" ` +
    `style="min-width:${Math.round(0.6 * im.width)}px"></figure>`
  );
}

/** Renders the whole page. */
export function renderReport(p: ReportPage): string {
  const figures = p.figures.map(
    (f) =>
      `<section id="${f.id}"><h2>${escapeHtml(f.title)}</h2><p>${escapeHtml(f.caption)}</p>` +
      `<div class="figs">${f.images.map(img).join('')}</div></section>`,
  );
  const tables = p.tables.map(
    (s) => `<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>${s.tables.map(table).join('')}</section>`,
  );
  const sections = p.tablesFirst ? [...tables, ...figures] : [...figures, ...tables];
  const nav = (p.tablesFirst ? [...p.tables, ...p.figures] : [...p.figures, ...p.tables])
    .map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)}</title>
<style>${css}</style>
</head>
<body>
<header>
<h1>${escapeHtml(p.title)}</h1>
<div class="facts">${p.facts.map(([k, v]) => `<div class="fact"><b>${escapeHtml(v)}</b><span>${escapeHtml(k)}</span></div>`).join('')}</div>
<nav>${nav}</nav>
</header>
<main>
${sections.join('\n')}
</main>
<footer>${escapeHtml(p.generated)}</footer>
${p.script ? `<script>${p.script}</script>\n` : ''}</body>
</html>
`;
}
