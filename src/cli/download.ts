import { join } from 'node:path';
import {
  type DownloadOptions,
  type DownloadProgress,
  DownloadStopped,
  dataDirs,
  datasetInfo,
  datasetNames,
  defaultDataDirText,
  downloadDataset,
  resolveDataDir,
} from '../data/index.js';
import { UsageError } from '../errors.js';
import { parseCommand } from './args.js';
import { bar, clock } from './progress.js';

export const downloadHelp = `convts download — fetch and verify data sets

Usage: convts download <${datasetNames.join('|')}>... [--data-dir DIR]

Files already present are checked against the checksum table and fetched again when they fail.
Missing ones are tried from each mirror in turn, verified, and only then moved into place as
<DIR>/<dataset>/<canonical file name>.

  --data-dir DIR    where data sets live; downloads go to the first folder of a search path a:b
                    [${defaultDataDirText}]
  --mirror URL      try this folder URL first (it serves the files under their canonical
                    names, e.g. URL/train-images-idx3-ubyte.gz); may be repeated

With CONVTS_OFFLINE=1 in the environment nothing is downloaded: the command refuses at once.

Example:
  convts download mnist cifar-10 --data-dir ../shared/datasets
`;

/** `convts download`: returns the process exit code. */
export async function downloadCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    argv,
    {
      'data-dir': { type: 'string' },
      mirror: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    downloadHelp,
    'download',
  );
  if (!parsed) return 0;
  const { values: v, positionals } = parsed;
  if (!positionals.length) throw new UsageError(`download: name a data set (${datasetNames.join(', ')})`);
  const unknown = positionals.find((n) => !(datasetNames as readonly string[]).includes(n));
  if (unknown) throw new UsageError(`download: unknown data set "${unknown}" — use one of ${datasetNames.join(', ')}`);
  const dir = resolveDataDir(v['data-dir']);
  // CONVTS_OFFLINE=1 is the promise that nothing touches the network (train and worker honour it too).
  if (process.env.CONVTS_OFFLINE === '1')
    throw new UsageError(
      `download: CONVTS_OFFLINE=1 forbids downloading — run "CONVTS_OFFLINE= convts download ${argv.join(' ')}" ` +
        `where there is network, or put the files in ${positionals.map((n) => join(dataDirs(dir)[0], n)).join(', ')}/ by hand`,
    );
  // Ctrl-C or SIGTERM stops the transfer at once; the file being fetched is removed, verified ones stay.
  const stop = new AbortController();
  let code = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    code ||= signal === 'SIGTERM' ? 143 : 130;
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (const name of positionals) {
      const info = datasetInfo(name);
      const mirrors = (v.mirror ?? []).map((m) => ({ kind: 'files' as const, base: m.endsWith('/') ? m : `${m}/` }));
      const r = await downloadDataset({ ...info, sources: [...mirrors, ...info.sources] }, dir, {
        ...downloadReporter(),
        verifyExisting: true,
        signal: stop.signal,
      });
      for (const p of r.present) process.stderr.write(`${p}: present, checksum ok\n`);
      process.stderr.write(`${name}: ${r.downloaded.length} file(s) downloaded, ${r.present.length} already present\n`);
    }
  } catch (e) {
    if (!(e instanceof DownloadStopped)) throw e;
    process.stderr.write(`${e.message}\n`);
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

/** Progress and log callbacks that draw a byte progress bar with ETA on a terminal and log lines elsewhere. */
export function downloadReporter(
  out: NodeJS.WriteStream = process.stderr,
): Pick<DownloadOptions, 'onProgress' | 'onLog'> {
  const tty = Boolean(out.isTTY);
  return {
    onLog: (line) => out.write(`${tty ? '\r\x1b[2K' : ''}${line}\n`),
    onProgress: tty ? (p) => out.write(`\r\x1b[2K${byteBar(p)}`) : undefined,
  };
}

/** "name ████░░░░ 12.3/47.0 MB  3.1 MB/s  ETA 0:11". */
export function byteBar(p: DownloadProgress): string {
  const mb = (b: number) => (b / 1e6).toFixed(1);
  const rate = p.received / Math.max(p.seconds, 1e-9);
  if (p.total === null) return `${p.file} ${mb(p.received)} MB  ${mb(rate)} MB/s`;
  const eta = (p.total - p.received) / Math.max(rate, 1e-9);
  return `${p.file} ${bar(p.received / Math.max(p.total, 1))} ${mb(p.received)}/${mb(p.total)} MB  ${mb(rate)} MB/s  ETA ${clock(eta)}`;
}
