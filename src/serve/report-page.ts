import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import type { Sequential } from '../model/sequential.js';
import type { Dataset } from '../train/dataset.js';
import type { RunDetail } from './api-types.js';
import { preload } from './compute.js';
import { packStacks } from './pack.js';
import { makeRoots } from './runs.js';
import { answer, webDir } from './server.js';

// report.html: the dashboard's run page saved as one file. The page's own bundle and styles are
// inlined, and so is every answer the page asks the server for, so it opens from file:// and
// looks like the live view without any network.

/** Test images kept per confusion-matrix cell: enough to see what a cell holds, a small file. */
const perCell = 8;

/** The run page of `runDir` as one self-contained HTML document, or null if the page is not built. */
export function reportPageHtml(runDir: string): string | null {
  const files = ['index.html', 'app.js', 'app.css'].map((f) => join(webDir, f));
  if (!files.every((f) => existsSync(f))) return null;
  const [html, js, css] = files.map((f) => readFileSync(f, 'utf8'));
  const dir = resolve(runDir);
  const roots = makeRoots([dirname(dir)]);
  const id = `${roots[0].name}/${basename(dir)}`;
  const data: Record<string, unknown> = { '#': `#/run/${encodeURIComponent(id)}` };
  const ask = (path: string, params: Record<string, string | number>, extra: Record<string, string | number> = {}) => {
    const q = (p: Record<string, string | number>) =>
      new URLSearchParams(Object.entries(p).map(([k, v]) => [k, String(v)]));
    const key = `${path}?${q(params).toString()}`;
    try {
      const a = answer(path, q({ ...params, ...extra }), roots);
      if (!(a !== null && typeof a === 'object' && 'pending' in a)) data[key] = a;
    } catch {
      // left out: the page says the view is not saved in this report
    }
  };
  ask('/api/run', { id });
  ask('/api/metrics', { id });
  const detail = data[`/api/run?id=${encodeURIComponent(id)}`] as RunDetail | undefined;
  if (detail?.config?.features) ask('/api/bank', { id, index: 0 });
  if (detail?.canCompute.model) {
    ask('/api/filters', { id });
    if (detail.canCompute.data) {
      ask('/api/maps', { id, index: 0 });
      ask('/api/mistakes', { id, limit: 24 });
      const cm = (detail.summary?.confusionMatrix as number[][] | undefined) ?? [];
      cm.forEach((row, label) =>
        row.forEach((n, predicted) => n > 0 && ask('/api/cell', { id, label, predicted }, { limit: perCell })),
      );
    }
  }
  // "<" escaped everywhere inside the scripts, so no text in the data can close a script element
  const json = JSON.stringify(data, packStacks).replace(/</g, '\\u003c');
  return html
    .replace(
      /<meta http-equiv="Content-Security-Policy"[^>]*>/,
      () =>
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data: blob:">`,
    )
    .replace('<link rel="stylesheet" href="app.css">', () => `<style>${css}</style>`)
    .replace(
      '<script src="app.js"></script>',
      () => `<script>window.CONVTS_DATA=${json}</script>\n<script>${js.replace(/<\/script/gi, '<\\/script')}</script>`,
    )
    .replace('<title>convts runs</title>', () => `<title>convts report: ${id.replace(/[<&]/g, '')}</title>`);
}

/**
 * Writes `runDir/report.html` as the interactive run page; false (nothing written) when the page
 * is not built. `loaded` hands over the model and test images when they are in memory already.
 */
export function writeReportPage(
  runDir: string,
  loaded?: {
    model: Sequential;
    config: Record<string, unknown>;
    data: Dataset | null;
    /** The test images' class probabilities from the run's evaluation, so the model is not run over them again. */
    probabilities?: Float32Array;
  },
): boolean {
  if (loaded) preload(realpathSync(runDir), loaded.model, loaded.config, loaded.data, loaded.probabilities);
  const html = reportPageHtml(runDir);
  if (html === null) return false;
  writeFileAtomic(join(runDir, 'report.html'), html);
  return true;
}
