// convts serve's server over a folder of runs, on a free port of 127.0.0.1, for a test.
import type { AddressInfo } from 'node:net';
import { makeRoots } from '../../src/serve/runs.js';
import { makeServer } from '../../src/serve/server.js';

/** Serves the runs under `runs` (and data sets from `dataDir`); resolves to its base URL ("http://…/") and a closer. */
export async function serveRuns(runs: string, dataDir?: string): Promise<{ url: string; close: () => void }> {
  const server = makeServer(makeRoots([runs]), { dataDir });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => server.close(),
  };
}
