import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRunConfig } from '../run/index.js';
import type { ImagesResponse, MetricsResponse, RunDetail, RunsResponse } from './api-types.js';
import { runBank } from './bank.js';
import {
  cellImages,
  filters,
  type Loaded,
  load,
  mistakes,
  testImageMaps,
  uploadLimits,
  uploadMaps,
} from './compute.js';
import { dataFile, listData } from './data-files.js';
import { followMetrics } from './metrics-follow.js';
import { packStacks } from './pack.js';
import { findDirs, noteMetricsDamage, type Root, runRow, sweepRow } from './runs.js';
import { decodePath, resolveId } from './safe-path.js';
import { type TestProbabilities, testProbabilities } from './test-probabilities.js';

/** The bundled page (npm run build:web), beside the compiled server in dist/. */
export const webDir = fileURLToPath(new URL('../../web/', import.meta.url));

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.jsonl': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
};

/**
 * Sent with every answer: the pages are cross-origin isolated (SharedArrayBuffer, so the
 * playground's WebAssembly threads), and nothing of the server may be embedded by another site.
 */
export const isolationHeaders = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

/** What the server serves besides the runs. */
export interface ServeOptions {
  /** The data directory (search path) whose canonical data set files GET /api/data hands out. */
  dataDir?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
const notFound = () => new HttpError(404, 'not found');

type Query = URLSearchParams;
type Handler = (q: Query, roots: Root[], req: IncomingMessage, o: ServeOptions) => unknown | Promise<unknown>;

/** The run directory an id names, or 404. */
function runDir(roots: Root[], q: Query): { id: string; dir: string } {
  const id = q.get('id') ?? '';
  const dir = resolveId(roots, id);
  if (!dir || !statSync(dir).isDirectory()) throw notFound();
  return { id, dir };
}

/** Which sweep a run belongs to: its parent folder, if that holds a sweep.json. */
const sweepOf = (id: string, dir: string) =>
  existsSync(join(dir, '..', 'sweep.json')) && id.includes('/') ? id.slice(0, id.lastIndexOf('/')) : null;

export function listRuns(roots: Root[]): RunsResponse {
  const { runs, sweeps } = findDirs(roots);
  const now = Date.now();
  const sweepIds = new Set(sweeps.map((s) => s.id));
  const parent = (id: string) => id.slice(0, Math.max(0, id.lastIndexOf('/')));
  return {
    runs: runs.map((r) => runRow(r.id, r.dir, sweepIds.has(parent(r.id)) ? parent(r.id) : null, now)),
    sweeps: sweeps.flatMap((s) => sweepRow(s.id, s.dir) ?? []),
  };
}

/** metrics.jsonl from a byte offset on (all of it again if the file was replaced): the page polls this to follow a run. */
function metrics(q: Query, roots: Root[]): MetricsResponse {
  const { id, dir } = runDir(roots, q);
  const row = runRow(id, dir, sweepOf(id, dir));
  const from = Math.max(0, Math.floor(Number(q.get('from') ?? 0)) || 0);
  const line0 = Math.max(0, Math.floor(Number(q.get('line') ?? 0)) || 0);
  const m = followMetrics(dir, from, line0, row.status === 'running', q.get('file')) as Omit<MetricsResponse, 'status'>;
  if (from === 0 || m.reset) noteMetricsDamage(dir, m.damaged);
  return { ...m, status: m.damaged ? 'damaged' : row.status };
}

function detail(q: Query, roots: Root[]): RunDetail {
  const { id, dir } = runDir(roots, q);
  const row = runRow(id, dir, sweepOf(id, dir));
  const json = (f: string) => {
    try {
      return JSON.parse(readFileSync(join(dir, f), 'utf8'));
    } catch {
      return null;
    }
  };
  let layers: RunDetail['layers'] = [];
  let reason: string | null = null;
  let data = false;
  try {
    if (row.status !== 'completed' && row.status !== 'diverged') throw new Error(`the run is ${row.status}`);
    const l = load(dir);
    layers = l.model.layers.map((x) => ({
      name: x.name,
      kind: x.kind,
      outShape: [...x.outShape],
      params: x.params.reduce((a, p) => a + p.value.size, 0),
    }));
    data = l.data !== null;
    reason = l.dataError;
  } catch (e) {
    reason = `the model cannot be loaded: ${(e as Error).message}`;
  }
  return {
    row,
    config: json('config.json'),
    summary: json('summary.json'),
    layers,
    canCompute: { model: layers.length > 0, data, reason },
  };
}

const int = (q: Query, k: string, d: number) => {
  const v = Number(q.get(k) ?? d);
  if (!Number.isInteger(v) || v < 0) throw new HttpError(400, `${k}: expected a whole number ≥ 0, got "${q.get(k)}"`);
  return v;
};
const modelOf = (q: Query, roots: Root[]) => load(runDir(roots, q).dir);

/** `f` of the run's model and test probabilities, or how far their computation is. */
function withProbabilities(q: Query, roots: Root[], f: (l: Loaded, tp: TestProbabilities) => ImagesResponse) {
  const { dir } = runDir(roots, q);
  const l = load(dir);
  const tp = testProbabilities(dir, l);
  return 'pending' in tp ? tp : f(l, tp);
}

// One computation at a time: a second upload waits for the first instead of doubling the memory.
let busy: Promise<unknown> = Promise.resolve();

async function upload(q: Query, roots: Root[], req: IncomingMessage) {
  const l = modelOf(q, roots);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > uploadLimits.bytes)
      throw new HttpError(413, 'the image is larger than 5 MB; give a smaller PNG or JPEG');
    chunks.push(c as Buffer);
  }
  const run = busy.then(() => uploadMaps(l, Buffer.concat(chunks)));
  busy = run.catch(() => {});
  return run;
}

const routes: Record<string, Handler> = {
  'GET /api/runs': (_q, roots) => listRuns(roots),
  'GET /api/run': detail,
  'GET /api/metrics': metrics,
  'GET /api/filters': (q, roots) => filters(modelOf(q, roots).model),
  'GET /api/maps': (q, roots) => testImageMaps(modelOf(q, roots), int(q, 'index', 0)),
  'POST /api/maps': upload,
  'GET /api/cell': (q, roots) =>
    withProbabilities(q, roots, (l, tp) =>
      cellImages(l, tp, int(q, 'label', 0), int(q, 'predicted', 0), Math.min(int(q, 'limit', 48), 200)),
    ),
  'GET /api/mistakes': (q, roots) =>
    withProbabilities(q, roots, (l, tp) => mistakes(l, tp, Math.min(int(q, 'limit', 24), 200))),
  'GET /api/bank': (q, roots, _req, o) => runBank(readRunConfig(runDir(roots, q).dir), int(q, 'index', 0), o.dataDir),
  'GET /api/data': (_q, _roots, _req, o) => {
    if (!o.dataDir) throw new HttpError(404, 'this server has no data directory');
    return listData(o.dataDir);
  },
};

/** The JSON answer of GET `path` with query `q`, as the page gets it (a saved report inlines these). */
export function answer(path: string, q: URLSearchParams, roots: Root[]): unknown {
  const route = routes[`GET ${path}`];
  if (!route) throw notFound();
  return route(q, roots, undefined as unknown as IncomingMessage, {});
}

/** A file of a served folder (/files/<id>) or of the built pages (flat in dist/web); anything else is 404. */
function file(path: string, roots: Root[]): string {
  if (path.startsWith('/files/')) {
    const id = decodePath(path.slice(7));
    const real = id === null ? null : resolveId(roots, id);
    if (real && statSync(real).isFile()) return real;
    throw notFound();
  }
  const name = path === '/' ? 'index.html' : path === '/playground' ? 'playground.html' : path.slice(1);
  if (!/^\w[\w.-]*\.(js|mjs|css|html|wasm|map)$/.test(name) || !existsSync(join(webDir, name))) throw notFound();
  return join(webDir, name);
}

/** GET /api/data/<set>/<file>: one canonical data set file, streamed. */
function sendData(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string>,
  o: ServeOptions,
) {
  const [set, name, ...more] = path.slice('/api/data/'.length).split('/');
  if (!o.dataDir) throw new HttpError(404, 'this server has no data directory');
  if (name === undefined || more.length) throw new HttpError(404, 'ask for /api/data/<set>/<file>');
  const hit = dataFile(o.dataDir, set, name);
  if ('error' in hit) throw new HttpError(404, hit.error);
  res.writeHead(200, {
    ...headers,
    'content-type': hit.gzip ? 'application/gzip' : 'application/octet-stream',
    'content-length': String(statSync(hit.path).size),
    'x-convts-file': hit.file,
  });
  if (req.method === 'HEAD') res.end();
  else
    createReadStream(hit.path)
      .on('error', () => res.destroy())
      .pipe(res);
}

async function handle(req: IncomingMessage, res: ServerResponse, roots: Root[], o: ServeOptions): Promise<void> {
  // The raw URL, not a normalized one: "/files/a/../b" must be refused, not quietly rewritten.
  const raw = req.url ?? '/';
  const cut = raw.indexOf('?');
  const path = cut < 0 ? raw : raw.slice(0, cut);
  const q = new URLSearchParams(cut < 0 ? '' : raw.slice(cut + 1));
  const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...isolationHeaders };
  try {
    const route = routes[`${req.method} ${path}`];
    if (route) {
      const result = await route(q, roots, req, o);
      // 202: not ready yet, ask again (the test images' probabilities being computed)
      const status = result !== null && typeof result === 'object' && 'pending' in result ? 202 : 200;
      res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(result, packStacks));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed');
    if (path.startsWith('/api/data/')) return sendData(path, req, res, headers, o);
    // The playground's relative URLs (its worker, wasm, api/data) resolve against /, not /playground/.
    if (path === '/playground/') {
      res.writeHead(308, { ...headers, location: '/playground' }).end();
      return;
    }
    const f = file(path, roots);
    res.writeHead(200, { ...headers, 'content-type': types[extname(f)] ?? 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(f));
  } catch (e) {
    const status = e instanceof HttpError ? e.status : 422;
    const message = e instanceof Error ? e.message : String(e);
    if (!res.headersSent)
      res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify({ error: message }));
    else res.end();
  }
}

/** An HTTP server over the run and sweep folders of `roots` and the playground (not yet listening). */
export function makeServer(roots: Root[], o: ServeOptions = {}): Server {
  return createServer((req, res) => void handle(req, res, roots, o));
}
