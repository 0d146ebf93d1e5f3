import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { type MetricsTail, metricsFile, parseMetricsTail } from '../run/index.js';

// A page follows metrics.jsonl by byte offset. Re-training into the same folder replaces the file
// (a new inode), and a hand copy over it rewrites it in place: an offset into the old file would
// then read the middle of a record or nothing at all. Each answer therefore carries what the reader
// saw of the file, and the next poll checks the file still is that one, else starts over.

/** Bytes before the offset whose hash a poll checks: the last records (one page), cheaply. */
const tailBytes = 4096;

/** FNV-1a, 32 bits: enough to tell a rewritten tail from the one read before. */
function hash(b: Buffer): string {
  let x = 0x811c9dc5;
  for (const v of b) x = Math.imul(x ^ v, 0x01000193) >>> 0;
  return x.toString(36);
}

/** `n` bytes of the open file `fd` from `at`. */
function bytesAt(fd: number, at: number, n: number): Buffer {
  const buf = Buffer.alloc(Math.max(0, n));
  readSync(fd, buf, 0, buf.length, at);
  return buf;
}

/** The hash of the bytes just before offset `end`. */
const hashBefore = (fd: number, end: number) =>
  hash(bytesAt(fd, Math.max(0, end - tailBytes), Math.min(end, tailBytes)));

/** Whether the file open as `fd` is still the one `seen` describes, read up to byte `from`. */
function same(fd: number, st: Stats, from: number, seen: string): boolean {
  const [ino, size, mtime, h] = seen.split(':');
  if (String(st.ino) !== ino || st.size < from) return false; // replaced, or shrank
  if (st.size === Number(size) && String(st.mtimeMs) !== mtime) return false; // rewritten, same length
  return hashBefore(fd, from) === h; // rewritten in place, as long or longer
}

export interface FollowedMetrics extends MetricsTail {
  /** What this read saw of the file ("inode:size:mtime:hash of the bytes before next"): the next poll hands it back. */
  file: string;
  /** The file is not the one the poll's offset was into: these records are all of it, from line 1. */
  reset: boolean;
}

/**
 * metrics.jsonl from byte `from` (after `line0` lines), or from the start with `reset` when the
 * file the reader followed (`seen`, from its last answer) was replaced, rewritten or cut. One open
 * file answers it all, so a replacement mid-read cannot mix two files.
 */
export function followMetrics(
  dir: string,
  from: number,
  line0: number,
  growing: boolean,
  seen: string | null,
): FollowedMetrics {
  let fd: number;
  try {
    fd = openSync(join(dir, metricsFile), 'r');
  } catch {
    return { records: [], next: 0, damaged: null, file: '', reset: from > 0 }; // none yet, or gone
  }
  try {
    const st = fstatSync(fd);
    const reset = from > 0 && (seen ? !same(fd, st, from, seen) : st.size < from);
    const start = reset ? 0 : from;
    const m = parseMetricsTail(bytesAt(fd, start, st.size - start), start, reset ? 0 : line0, growing);
    return { ...m, file: `${st.ino}:${st.size}:${st.mtimeMs}:${hashBefore(fd, m.next)}`, reset };
  } finally {
    closeSync(fd);
  }
}
