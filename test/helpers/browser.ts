// Headless Debian chromium through playwright-core, and a plain static server for built pages.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import type { Browser, Page } from 'playwright-core';

export const chromiumPath = process.env.CONVTS_CHROMIUM ?? '/usr/bin/chromium';

/** A describe()'s skip option: false, or why the browser checks are skipped. */
export const skipWithoutChromium = existsSync(chromiumPath)
  ? false
  : `${chromiumPath} not found (apt-get install -y chromium) — browser check skipped`;

/** The browser, or null (with the reason) when Debian's chromium is not installed. */
export async function launchChromium(): Promise<Browser | null> {
  if (!existsSync(chromiumPath)) return null;
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

const types: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
};

/** The two headers that make a page cross-origin isolated, so that it may share memory between threads. */
export const isolationHeaders = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

/**
 * Serves `dir` as any static host would (no special headers, or with `isolated` the COOP/COEP pair),
 * and, when `dataRoot` is given, `/api/data/<set>/<file>` from it and `/api/data` as the list of its
 * folders and their files, in the shape `convts serve` answers. Resolves to the server and its base URL.
 */
export function staticServer(
  dir: string,
  dataRoot?: string,
  { isolated = false } = {},
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    if (path === '/api/data' && dataRoot) {
      const sets = readdirSync(dataRoot, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => ({
          name: d.name,
          complete: true,
          files: readdirSync(join(dataRoot, d.name)).map((f) => ({ name: f.replace(/\.gz$/, ''), file: f })),
        }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ dataDir: dataRoot, sets }));
      return;
    }
    const data = path.match(/^\/api\/data\/([\w-]+)\/([\w.-]+)$/);
    const file = data && dataRoot ? join(dataRoot, data[1], data[2]) : join(dir, normalize(path).replace(/^\/+/, ''));
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      ...(isolated ? isolationHeaders : {}),
    });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/` });
    }),
  );
}

/**
 * Opens url + hash in a new page that records console errors into `errors` and every request
 * that leaves the server (other than data: and blob:) into `foreign`.
 */
export async function openWatched(
  browser: Browser,
  url: string,
  hash: string,
  record: { errors: string[]; foreign: string[] },
  width = 1280,
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  page.on('console', (m) => m.type() === 'error' && record.errors.push(`${hash}: ${m.text()}`));
  page.on('pageerror', (e) => record.errors.push(`${hash}: ${e.message}`));
  page.on('request', (q) => {
    if (!q.url().startsWith(url) && !/^(data|blob):/.test(q.url())) record.foreign.push(q.url());
  });
  await page.goto(url + hash);
  return page;
}

/** A task the page's main thread ran: its wall-clock and CPU milliseconds (NaN if the trace lacks it), and when it began. */
export interface MainTask {
  wall: number;
  cpu: number;
  at: number;
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/**
 * Records Chromium's timeline while `during` runs and returns the tasks of the page's main thread
 * (CrRendererMain) and how many animation frames it fired. The trace gives each task's CPU time as
 * well as its wall time: on a busy machine a task's wall time includes the time its thread waited
 * for a core, its CPU time is what the page itself asked of the thread.
 */
export async function traceMainThread(
  browser: Browser,
  page: Page,
  during: () => Promise<unknown>,
): Promise<{ tasks: MainTask[]; frames: number }> {
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  let events: TraceEvent[] = [];
  try {
    await during();
  } finally {
    events = (JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] }).traceEvents;
  }
  const mains = events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const isMain = (e: TraceEvent) => mains.some((m) => m.pid === e.pid && m.tid === e.tid);
  const tasks = events
    .filter((e) => e.ph === 'X' && e.name === 'RunTask' && isMain(e))
    .map((e) => ({
      wall: (e.dur ?? 0) / 1000,
      cpu: e.tdur === undefined ? Number.NaN : e.tdur / 1000,
      at: e.ts / 1000,
    }));
  const frames = events.filter((e) => e.name === 'FireAnimationFrame' && isMain(e)).length;
  return { tasks, frames };
}

/** Debian's chromium opening pages of one server, recording what they must not do. */
export interface WatchedBrowser {
  url: string;
  browser: Browser;
  /** Console errors and requests that left the server, of every page opened so far. */
  errors: string[];
  foreign: string[];
  /** A new page at url + hash, `width` CSS pixels wide. */
  open(hash: string, width?: number): Promise<Page>;
  close(): Promise<void>;
}

/** Launches chromium to watch the pages of the server at `url`; throws when chromium is missing (skip with skipWithoutChromium). */
export async function watchedBrowser(url: string): Promise<WatchedBrowser> {
  const browser = await launchChromium();
  if (!browser) throw new Error(String(skipWithoutChromium));
  const errors: string[] = [];
  const foreign: string[] = [];
  return {
    url,
    browser,
    errors,
    foreign,
    open: (hash, width = 1280) => openWatched(browser, url, hash, { errors, foreign }, width),
    close: () => browser.close(),
  };
}
