import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConvtsError } from '../errors.js';
import { ensureDir, writeFileAtomic } from '../files/atomic.js';
import { alive } from '../files/lock.js';
import {
  type DataFile,
  type DataSetInfo,
  dataDirs,
  findFile,
  MissingDataError,
  type Source,
  storedName,
} from './catalog.js';
import { gunzipChecked, isGzip } from './gzip.js';
import { readTar } from './tar.js';

export interface DownloadProgress {
  /** What is being fetched (a file or archive name). */
  file: string;
  received: number;
  /** From Content-Length; null when the server does not say. */
  total: number | null;
  seconds: number;
}

export interface DownloadOptions {
  /** Which files to get (default: all of the set's files). */
  splits?: DataFile['split'][];
  /** Check the checksums of files already present, and download again those that fail. */
  verifyExisting?: boolean;
  /** Abort a transfer that receives nothing for this long. */
  idleTimeoutMs?: number;
  /** Stops the download at once (Ctrl-C): the file being fetched is removed and DownloadStopped thrown. */
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** One line per event worth telling a person (a mirror failing, a file verified). */
  onLog?: (line: string) => void;
}

export interface DownloadResult {
  /** Files that were there already (verified when asked). */
  present: string[];
  downloaded: string[];
}

/**
 * Makes `<dataDir>/<set>/` hold the set's files (the first folder of a search path gets the
 * downloads): each missing one is fetched from the sources in
 * order, verified against the checksum table, and only then renamed into place, so a failed,
 * interrupted or corrupted download never replaces or poisons a cached file. Throws a
 * MissingDataError listing what is still missing, where it goes, its checksum and why each
 * source failed.
 */
export async function downloadDataset(
  info: DataSetInfo,
  dataDir: string,
  o: DownloadOptions = {},
): Promise<DownloadResult> {
  const dir = join(dataDirs(dataDir)[0], info.name);
  removeStaleParts(dir);
  const wanted = info.files.filter((f) => !o.splits || o.splits.includes(f.split));
  const present: string[] = [];
  let missing: DataFile[] = [];
  for (const f of wanted) {
    const p = findFile(dataDir, info.name, f.name);
    if (p && (!o.verifyExisting || checkContent(readFileSync(p), f, p) === null)) present.push(p);
    else {
      if (p) o.onLog?.(`${p}: fails its checksum — downloading it again`);
      missing.push(f);
    }
  }
  const downloaded: string[] = [];
  const reasons: string[] = [];
  const made = foldersToMake(dir);
  try {
    for (const source of info.sources) {
      if (!missing.length) break;
      if (o.signal?.aborted) throw new DownloadStopped(downloaded);
      const got =
        source.kind === 'files'
          ? await fromFolder(source, missing, dir, o, reasons)
          : await fromArchive(source, missing, dir, o, reasons);
      downloaded.push(...got.map((f) => f.path));
      missing = missing.filter((f) => !got.some((g) => g.file === f));
    }
  } catch (e) {
    if (e instanceof DownloadStopped) throw new DownloadStopped([...downloaded, ...e.kept]);
    throw e;
  } finally {
    if (!downloaded.length) removeIfEmpty(made);
  }
  if (missing.length) throw new MissingDataError(info.name, dataDir, missing, reasons);
  return { present, downloaded };
}

/**
 * Removes the `.NAME.part-PID` files of downloads whose process no longer runs: one killed outright
 * (kill -9, or SIGTERM during `convts train`) cannot clean up after itself.
 */
function removeStaleParts(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // not made yet, or not a folder: the download reports it
  }
  for (const n of names) {
    const pid = Number(/^\..+\.part-(\d+)$/.exec(n)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) rmSync(join(dir, n), { force: true });
  }
}

/** `dir` and those of its parents that do not exist yet, deepest first. */
function foldersToMake(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; !existsSync(d) && dirname(d) !== d; d = dirname(d)) out.push(d);
  return out;
}

/** A download that got nothing leaves nothing: the folders it made are removed, deepest first, while empty. */
function removeIfEmpty(folders: string[]): void {
  for (const d of folders) {
    try {
      rmdirSync(d);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') return; // not empty: another writer's files
    }
  }
}

type Got = { file: DataFile; path: string };

/** Each file from `<base><stored name>`; a failure moves on to the next file (and leaves it to the next source). */
async function fromFolder(
  source: Extract<Source, { kind: 'files' }>,
  files: DataFile[],
  dir: string,
  o: DownloadOptions,
  reasons: string[],
): Promise<Got[]> {
  const got: Got[] = [];
  for (const f of files) {
    const url = source.base + storedName(f);
    const tmp = join(dir, `.${storedName(f)}.part-${process.pid}`);
    try {
      await fetchToFile(url, tmp, storedName(f), o);
      const bytes = readFileSync(tmp);
      const bad = checkContent(bytes, f, url);
      if (bad) throw new Error(bad);
      // Kept as served: gzipped bytes under <name>.gz, plain ones under <name>.
      const path = join(dir, isGzip(bytes) ? `${f.name}.gz` : f.name);
      renameSync(tmp, path);
      rmSync(join(dir, isGzip(bytes) ? f.name : `${f.name}.gz`), { force: true }); // a stale or bad other form
      o.onLog?.(`${path}: verified`);
      got.push({ file: f, path });
    } catch (e) {
      if (o.signal?.aborted) throw new DownloadStopped(got.map((g) => g.path));
      reasons.push(`${url}: ${(e as Error).message}`);
      o.onLog?.(`${url}: ${(e as Error).message}`);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return got;
}

/** One .tar.gz holding the files under `prefix`; each is verified and written on its own. */
async function fromArchive(
  source: Extract<Source, { kind: 'tar.gz' }>,
  files: DataFile[],
  dir: string,
  o: DownloadOptions,
  reasons: string[],
): Promise<Got[]> {
  const name = basename(new URL(source.url).pathname);
  const tmp = join(dir, `.${name}.part-${process.pid}`);
  const got: Got[] = [];
  try {
    await fetchToFile(source.url, tmp, name, o);
    const members = readTar(gunzipChecked(readFileSync(tmp), source.url), source.url);
    rmSync(tmp, { force: true }); // the archive is not kept: only the verified members are
    for (const f of files) {
      const data = members.get(source.prefix + f.name);
      const bad = data
        ? checkContent(data, f, `${source.url}:${source.prefix}${f.name}`)
        : `${source.prefix}${f.name} is not in the archive`;
      if (bad) {
        reasons.push(`${source.url}: ${bad}`);
        continue;
      }
      const path = join(dir, f.name);
      writeFileAtomic(path, data!);
      rmSync(`${path}.gz`, { force: true });
      o.onLog?.(`${path}: verified`);
      got.push({ file: f, path });
    }
  } catch (e) {
    if (o.signal?.aborted) throw new DownloadStopped(got.map((g) => g.path));
    reasons.push(`${source.url}: ${(e as Error).message}`);
    o.onLog?.(`${source.url}: ${(e as Error).message}`);
  } finally {
    rmSync(tmp, { force: true });
  }
  return got;
}

/** null when `bytes` (gzipped or not) is the file the table describes, else what is wrong. */
export function checkContent(bytes: Uint8Array, f: DataFile, where: string): string | null {
  let content: Uint8Array;
  try {
    content = isGzip(bytes) ? gunzipChecked(bytes, where) : bytes;
  } catch (e) {
    return (e as Error).message;
  }
  if (f.bytes !== null && content.length !== f.bytes)
    return `${f.name} has ${content.length} bytes, expected ${f.bytes} — not kept`;
  if (f.md5 === null) return content.length ? null : `${f.name} is empty — not kept`;
  const md5 = createHash('md5').update(content).digest('hex');
  return md5 === f.md5 ? null : `checksum mismatch for ${f.name}: md5 ${md5}, expected ${f.md5} — not kept`;
}

/** Streams a URL into `path`; throws on an HTTP error, a stall, or a body shorter than announced. */
async function fetchToFile(url: string, path: string, label: string, o: DownloadOptions): Promise<void> {
  ensureDir(dirname(path));
  const abort = new AbortController();
  const idle = o.idleTimeoutMs ?? 30_000;
  let timer = setTimeout(() => abort.abort(), idle);
  const t0 = performance.now();
  const fd = openSync(path, 'w');
  let received = 0;
  let total: number | null = null;
  try {
    const signal = o.signal ? AbortSignal.any([abort.signal, o.signal]) : abort.signal;
    const res = await fetch(url, { signal, redirect: 'follow' });
    if (!res.ok || !res.body) throw new Refused(`HTTP ${res.status} ${res.statusText}`.trim());
    const header = res.headers.get('content-length');
    total = header === null ? null : Number(header);
    let shown = 0;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(), idle);
      writeSync(fd, chunk);
      received += chunk.length;
      const now = performance.now();
      if (now - shown > 100) {
        shown = now;
        o.onProgress?.({ file: label, received, total, seconds: (now - t0) / 1000 });
      }
    }
    o.onProgress?.({ file: label, received, total, seconds: (performance.now() - t0) / 1000 });
    if (total !== null && received !== total)
      throw new Refused(`connection closed after ${received} of ${total} bytes`);
  } catch (e) {
    if (e instanceof Refused) throw e;
    if (abort.signal.aborted) throw new Error(`no data for ${idle / 1000} s after ${received} bytes — gave up`);
    const cause = (e as { cause?: Error }).cause;
    const why = cause?.message ? `${(e as Error).message} (${cause.message})` : (e as Error).message;
    throw new Error(received ? `connection lost after ${received} of ${total ?? '?'} bytes: ${why}` : why);
  } finally {
    clearTimeout(timer);
    closeSync(fd);
  }
}

/** A failure fetchToFile describes itself (as opposed to one from the network stack). */
class Refused extends Error {}

/** The download was stopped (DownloadOptions.signal): nothing partial is left, verified files stay. */
export class DownloadStopped extends ConvtsError {
  constructor(readonly kept: string[]) {
    super(
      `download stopped; ${kept.length ? `${kept.length} verified file(s) kept, ` : ''}nothing partial left — run the same command again to fetch the rest`,
    );
  }
}
