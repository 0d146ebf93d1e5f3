// `convts bench --backend browser` and `--compare convnetjs`: headless Chromium (playwright-core, Debian's
// /usr/bin/chromium or $CONVTS_CHROMIUM) on a page served here with the COOP/COEP headers, so that the
// threaded WebAssembly kernels run on a pool of workers; the page is bench/browser-page.ts, built into
// dist/web/bench.js by npm run build:web. Each contender times itself inside the page; its CPU time is
// the renderer process's (all its threads: the page and the pool's workers), read from /proc. Chromium's
// threads run at this process's nice value, as the Node side does (renderer-proc.ts matchNice).
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { ConvtsError } from '../src/errors.js';
import { cpuSeconds, matchNice, rendererPids } from './renderer-proc.js';
import type { Contender, Mode, Slice } from './timing.js';

const dist = fileURLToPath(new URL('../', import.meta.url));
const pageScript = join(dist, 'web', 'bench.js');
export const chromiumPath = () => process.env.CONVTS_CHROMIUM || '/usr/bin/chromium';

/** ConvNetJS's script as npm installs it, or null. */
function convnetjsScript(): string | null {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('convnetjs')), 'convnet-min.js');
  } catch {
    return null;
  }
}

/** What the page started: threads that run, relaxed SIMD or SIMD128, the kernel set's name. */
export interface BrowserKernels {
  threads: number;
  simd: string;
  kernels: string;
  notice: string | null;
}

interface PageApi {
  convtsBench: {
    start(threads: number, spins?: number): Promise<BrowserKernels>;
    setup(id: string, who: string, pool: string, net: string, mode: Mode, batch: number): void;
    run(id: string, seconds: number): { steps: number; seconds: number };
    drop(id: string): void;
  };
}

export class BrowserBench {
  private next = 0;
  private constructor(
    private readonly browser: Browser,
    private readonly server: Server,
    private readonly page: Page,
    readonly version: string,
    readonly convnetjs: boolean,
    /** The page's renderer process(es), whose CPU time a slice counts (bench/renderer-proc.ts). */
    private readonly renderers: number[],
  ) {}

  /** Launches Chromium on the bench page; `convnetjs` also loads ConvNetJS there. */
  static async open(convnetjs: boolean): Promise<BrowserBench> {
    const chromium = chromiumPath();
    if (!existsSync(chromium))
      throw new ConvtsError(
        `--backend browser: no Chromium at ${chromium} — apt-get install chromium, or set CONVTS_CHROMIUM`,
      );
    if (!existsSync(pageScript))
      throw new ConvtsError(`--backend browser: ${pageScript} is missing — run npm run build:web`);
    const cj = convnetjs ? convnetjsScript() : null;
    if (convnetjs && !cj)
      throw new ConvtsError('--compare convnetjs: the convnetjs package is not installed — npm install convnetjs');
    let pw: typeof import('playwright-core');
    try {
      pw = await import('playwright-core');
    } catch {
      throw new ConvtsError('--backend browser needs playwright-core — npm install playwright-core');
    }
    const server = await serve(cj);
    const browser = await pw.chromium.launch({
      executablePath: chromium,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/bench.html`);
      await page.waitForFunction(() => 'convtsBench' in globalThis, undefined, { timeout: 30_000 });
      if (errors.length) throw new ConvtsError(`the bench page failed: ${errors[0]}`);
      return new BrowserBench(browser, server, page, browser.version(), convnetjs, rendererPids());
    } catch (e) {
      await browser.close();
      server.close();
      throw e;
    }
  }

  /** Starts the WebAssembly kernels on `threads` threads in the page, their workers spinning `spins` times
   * before they sleep (default: the kernels' own). */
  start(threads: number, spins?: number): Promise<BrowserKernels> {
    return this.page.evaluate((a) => (globalThis as unknown as PageApi).convtsBench.start(a.threads, a.spins), {
      threads,
      spins,
    });
  }

  /** A race contender: convts on the page's pool of `threads` started with `spins`, or ConvNetJS. */
  async contender(
    who: 'convts' | 'convnetjs',
    threads: number,
    net: string,
    mode: Mode,
    batch: number,
    spins?: number,
  ) {
    const id = `${who}-${this.next++}`;
    const pool = `${threads}/${spins ?? ''}`;
    await this.page.evaluate(
      (a) => (globalThis as unknown as PageApi).convtsBench.setup(a.id, a.who, a.pool, a.net, a.mode, a.batch),
      { id, who, pool, net, mode, batch },
    );
    const run = async (seconds: number): Promise<Slice> => {
      matchNice(); // before every slice: threads Chromium started since then, or priorities it reset
      const cpu0 = cpuSeconds(this.renderers);
      const r = await this.page.evaluate((a) => (globalThis as unknown as PageApi).convtsBench.run(a.id, a.seconds), {
        id,
        seconds,
      });
      return { images: r.steps * batch, seconds: r.seconds, cpuSeconds: cpuSeconds(this.renderers) - cpu0 };
    };
    const contender: Contender & { drop(): Promise<void> } = {
      warm: async (seconds) => void (await run(seconds)),
      slice: run,
      drop: () => this.page.evaluate((i) => (globalThis as unknown as PageApi).convtsBench.drop(i), id),
    };
    return contender;
  }

  async close(): Promise<void> {
    await this.browser.close();
    this.server.close();
  }
}

/** The page, its script, the .wasm modules and ConvNetJS, with the headers cross-origin isolation needs. */
function serve(convnetjs: string | null): Promise<Server> {
  const files: Record<string, [string, string]> = {
    '/bench.js': [pageScript, 'text/javascript'],
    ...(convnetjs ? { '/convnet.js': [convnetjs, 'text/javascript'] } : {}),
  };
  const html = `<!doctype html><meta charset="utf-8"><title>convts bench</title>${convnetjs ? '<script src="convnet.js"></script>' : ''}<script type="module" src="bench.js"></script>`;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const wasm = path.match(/^\/wasm\/(convts[\w-]*\.wasm)$/);
    const [file, type] = wasm ? [join(dist, 'wasm', wasm[1]), 'application/wasm'] : (files[path] ?? ['', '']);
    const headers = {
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    };
    if (path === '/bench.html') return void res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end(html);
    if (!file || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { ...headers, 'content-type': type }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
