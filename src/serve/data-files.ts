import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { catalog, type DataFile, dataDirs, datasetNames } from '../data/index.js';

// The canonical data set files the playground trains on, as the server hands them out: only the
// files of the catalog, looked up in the data directory search path exactly as `convts train` does.

/** One file of a data set as the data directory holds it. */
export interface DataFileEntry {
  /** The catalog's name of the file (uncompressed). */
  name: string;
  /** The name to ask for: the stored copy's, `<name>.gz` when it is gzipped. */
  file: string;
  gzip: boolean;
  bytes: number;
  split: DataFile['split'];
}

export interface DataSetEntry {
  name: string;
  /** Every file of the catalog (or its stand-in) is present. */
  complete: boolean;
  files: DataFileEntry[];
  /** The catalog's names of the files not found. */
  missing: string[];
}

/** GET /api/data: the data directory searched and each data set with at least one file there. */
export interface DataListResponse {
  dataDir: string;
  sets: DataSetEntry[];
}

/** Where `<set>/<file>` (or `<file>` straight in a folder of the search path) is stored, or null. */
function stored(dataDir: string, set: string, file: string): string | null {
  for (const base of dataDirs(dataDir).flatMap((d) => [join(d, set), d])) {
    const p = join(base, file);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return null;
}

/** A catalog file's stored copy: the name asked for first, then its other form (gzipped or not). */
function locate(dataDir: string, set: string, f: DataFile, prefer: 'gz' | 'raw') {
  const order = prefer === 'gz' ? [`${f.name}.gz`, f.name] : [f.name, `${f.name}.gz`];
  for (const name of order) {
    const path = stored(dataDir, set, name);
    if (path) return { path, file: name, gzip: name.endsWith('.gz') };
  }
  return null;
}

/** Partial copies some mirrors carry in place of a file: CIFAR-10's first 1,000 test records (as convts train reads them). */
const standIns: Record<string, string> = { 'test_batch.bin': 'test_batch_first1000.bin' };

/** A catalog file, or its stand-in under the stand-in's own name when only that is stored. */
function locateOrStandIn(dataDir: string, set: string, f: DataFile) {
  const hit = locate(dataDir, set, f, f.gz ? 'gz' : 'raw');
  if (hit || !standIns[f.name]) return hit && { ...hit, name: f.name };
  const alt = locate(dataDir, set, { ...f, name: standIns[f.name] }, 'raw');
  return alt && { ...alt, name: standIns[f.name] };
}

export function listData(dataDir: string): DataListResponse {
  const sets: DataSetEntry[] = [];
  for (const name of datasetNames) {
    const files: DataFileEntry[] = [];
    const missing: string[] = [];
    for (const f of catalog[name].files) {
      const hit = locateOrStandIn(dataDir, name, f);
      if (hit)
        files.push({ name: hit.name, file: hit.file, gzip: hit.gzip, bytes: statSync(hit.path).size, split: f.split });
      else missing.push(f.name);
    }
    if (files.length) sets.push({ name, complete: missing.length === 0, files, missing });
  }
  return { dataDir, sets };
}

/**
 * The stored file GET /api/data/<set>/<file> answers with, or why not. `file` is a catalog name,
 * with or without `.gz`; when only the other form is stored, that one is given (readers tell the
 * two apart by the gzip magic bytes). Anything that is not a catalog name is refused.
 */
export function dataFile(
  dataDir: string,
  set: string,
  file: string,
): { path: string; file: string; gzip: boolean } | { error: string } {
  const info = (datasetNames as readonly string[]).includes(set) ? catalog[set] : undefined;
  if (!info) return { error: `no data set "${set}": the server has ${datasetNames.join(', ')}` };
  const base = file.endsWith('.gz') ? file.slice(0, -3) : file;
  const standIn = info.files.find((x) => standIns[x.name] === base);
  const f = standIn ? { ...standIn, name: base } : info.files.find((x) => x.name === base);
  if (!f)
    return {
      error: `"${file}" is not a file of ${set}: ask for one of ${info.files.map((x) => x.name).join(', ')} (or the same with .gz)`,
    };
  return (
    locate(dataDir, set, f, file.endsWith('.gz') ? 'gz' : 'raw') ?? {
      error: `${set}/${f.name}(.gz) not found in ${dataDirs(dataDir).join(', ')} — start convts serve with --data-dir DIR (the folder holding ${set}/), or run convts download ${set}`,
    }
  );
}
