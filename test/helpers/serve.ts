// convts serve's server over a folder of runs, on a free port of 127.0.0.1, for a test.
import type { AddressInfo } from 'node:net';
import { inflateSync } from 'node:zlib';
import type { MapStack } from '../../src/serve/api-types.js';
import { makeRoots } from '../../src/serve/runs.js';
import { makeServer } from '../../src/serve/server.js';
import { type WatchedBrowser, watchedBrowser } from './browser.js';

/** Serves the runs under `runs` (and data sets from `dataDir`); resolves to its base URL ("http://…/") and a closer. */
export async function serveRuns(runs: string, dataDir?: string): Promise<{ url: string; close: () => void }> {
  const server = makeServer(makeRoots([runs]), { dataDir });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => server.close(),
  };
}

/**
 * The runs under `runs` served on a free port and watched in Debian's chromium: the setup of every
 * dashboard test in a browser. close() stops both.
 */
export async function servePages(runs: string, dataDir?: string): Promise<WatchedBrowser> {
  const server = await serveRuns(runs, dataDir);
  const watched = await watchedBrowser(server.url).catch((e) => {
    server.close();
    throw e;
  });
  return {
    ...watched,
    close: async () => {
      await watched.close();
      server.close();
    },
  };
}

/** A picture stack's values as the page unpacks them (the server sends them as PackedValues). */
export function unpackedValues(m: MapStack): number[] {
  if (!m.packed) return m.data;
  const { lo, hi, deflated } = m.packed;
  const bytes = inflateSync(Buffer.from(deflated, 'base64'));
  const per = bytes.length / lo.length;
  return Array.from(bytes, (b, j) => {
    const i = Math.floor(j / per);
    return lo[i] + ((hi[i] - lo[i]) * b) / 255;
  });
}
