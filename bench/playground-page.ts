// The playground as the playground benchmarks drive it: served as `convts serve` serves it (COOP/COEP,
// so the kernels run on a pool of workers) in headless Chromium, its worker started and the data
// directory's MNIST loaded.
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { makeRoots } from '../src/serve/runs.js';
import { makeServer } from '../src/serve/server.js';
import { chromiumPath } from './browser.js';

/** What the benchmarks read of the page's `playground.state`. */
export interface PlaygroundState {
  ready: boolean;
  steps: number;
  data: unknown;
  maxFrameGap: number;
  threads: number;
  kernels: string;
  phase: string;
}

export interface Playground {
  browser: Browser;
  page: Page;
  state(): Promise<PlaygroundState>;
  /** Waits until `condition` (JavaScript over `s`, the page's state) holds. */
  until(condition: string, timeoutMs?: number): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Opens the playground on MNIST from `dataDir`; `before` runs on the page before it loads, `beforeData`
 * once it is ready, before "Load from the server" (to pick another data set or image limit).
 */
export async function openPlayground(
  dataDir: string,
  before?: (page: Page) => Promise<unknown>,
  beforeData?: (page: Page) => Promise<unknown>,
): Promise<Playground> {
  const server = makeServer(makeRoots([mkdtempSync(join(tmpdir(), 'convts-pg-'))]), { dataDir });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/playground`;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const close = async () => {
    await browser.close();
    server.close();
  };
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await before?.(page);
    await page.goto(url);
    const pg: Playground = {
      browser,
      page,
      state: () =>
        page.evaluate(() => (globalThis as unknown as { playground: { state: PlaygroundState } }).playground.state),
      until: (f, timeout = 120_000) =>
        page.waitForFunction(`(() => { const s = playground.state; return ${f}; })()`, null, { timeout, polling: 100 }),
      close,
    };
    await pg.until('s.ready', 30_000);
    await beforeData?.(page);
    await page.click('#load-server');
    await pg.until('s.data !== null', 300_000);
    return pg;
  } catch (e) {
    await close();
    throw e;
  }
}
