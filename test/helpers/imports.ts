/** Every import (static, re-export, type-only or dynamic) of a TypeScript source, as written. */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(?\s*['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) found.push(m[1] ?? m[2]);
  return found;
}
