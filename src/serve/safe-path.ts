import { existsSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { Root } from './runs.js';

/**
 * The file or folder an id names ("runs/mnist/report.html": a root's name, then a path under it),
 * or null for anything that could lead outside the served folders: `..` or `.` segments (plain or
 * percent-encoded), empty segments (absolute paths), backslashes, NUL, or a symbolic link whose
 * target lies outside its root.
 */
export function resolveId(roots: Root[], id: string): string | null {
  if (id.includes('\\') || id.includes('\0')) return null;
  const parts = id.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return null;
  const root = roots.find((r) => r.name === parts[0]);
  if (!root) return null;
  const path = join(root.dir, ...parts.slice(1));
  if (!existsSync(path)) return null;
  const real = realpathSync(path);
  const base = realpathSync(root.dir);
  return real === base || real.startsWith(base + sep) ? real : null;
}

/** Percent-decodes a URL path, or null when it does not decode. */
export function decodePath(p: string): string | null {
  try {
    return decodeURIComponent(p);
  } catch {
    return null;
  }
}
