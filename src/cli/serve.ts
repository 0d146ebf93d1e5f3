import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { defaultDataDirText, resolveDataDir } from '../data/index.js';
import { ConfigError } from '../errors.js';
import { makeRoots } from '../serve/runs.js';
import { makeServer, webDir } from '../serve/server.js';
import { stopComputations } from '../serve/test-probabilities.js';
import { num, parseCommand } from './args.js';

export const serveHelp = `convts serve — watch, compare and dig into runs in the browser

Usage: convts serve [DIR…] [options]

Serves a web page over every run and sweep directory found under DIR (recursively;
default runs/): the runs table, their curves overlaid, each run's page, each sweep's page.
Runs still training update live. Nothing is fetched from outside this machine.
The playground (training in the browser) is at /playground, and the data sets of the
data directory at /api/data for it to load.

Options
  --port N          port to listen on (0: any free one)            [6006]
  --host H          address to bind; anything but 127.0.0.1 lets others on the
                    network read the runs and the data sets         [127.0.0.1]
  --data-dir DIR    folder holding <dataset>/, or a search path a:b, whose
                    MNIST, Fashion-MNIST and CIFAR-10 files the playground
                    may load                    [${defaultDataDirText}]
  --open            open the page in the default browser

Example:
  convts serve runs
`;

export const serveOptions = {
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  open: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `convts serve`: runs until stopped (Ctrl-C); resolves with the exit code. */
export async function serveCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, serveOptions, serveHelp, 'serve');
  if (!parsed) return 0;
  const { values: v, positionals } = parsed;
  const dirs = positionals.length ? positionals : ['runs'];
  for (const d of dirs)
    if (!existsSync(d) || !statSync(d).isDirectory())
      throw new ConfigError(`${d}: no such directory — give folders holding run directories (convts train --out …)`);
  if (!existsSync(webDir)) throw new ConfigError(`${webDir} not found — build the page with npm run build:web`);
  const port = num('port', v.port, 6006, { int: true, min: 0, max: 65535 });
  const host = v.host ?? '127.0.0.1';
  const server = makeServer(makeRoots(dirs), { dataDir: resolveDataDir(v['data-dir']) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new ConfigError(`port ${port} is in use — give another with --port N (or --port 0 for any free one)`)
          : e,
      ),
    );
    server.listen(port, host, resolve);
  });
  // Ctrl-C handlers before the URL goes out: whoever reads it may stop the server at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      stopComputations();
      server.close(() => resolve());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const addr = server.address();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${typeof addr === 'object' && addr ? addr.port : port}/`;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1')
    process.stderr.write(`warning: listening on ${host}: anyone who can reach this port can read these runs\n`);
  process.stdout.write(`convts serve: ${dirs.join(', ')} at ${url}  (Ctrl-C stops)\n`);
  process.stdout.write(`playground: ${url}playground\n`);
  if (v.open) openUrl(url);
  await stopped;
  return 0;
}

/**
 * Opens `url` with the platform's opener. A missing opener, or one that fails (xdg-open on a
 * machine without a desktop), only prints a note: the server keeps serving.
 */
function openUrl(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const note = (why: string) => process.stderr.write(`--open: ${why}; open ${url} yourself\n`);
  spawn(opener, [url], { stdio: 'ignore', detached: true })
    .on('error', () => note(`could not start ${opener} (not on the PATH?)`))
    // explorer exits 1 even when it opened the page
    .on('exit', (code) => code && process.platform !== 'win32' && note(`${opener} exited with code ${code}`))
    .unref();
}
