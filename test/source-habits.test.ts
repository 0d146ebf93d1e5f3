// Habits a read of the sources should find kept: files short enough to read in one sitting unless
// their header says why not, and comments that stand on their own (no issue numbers, no style
// file that is not in the repository).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const maxLines = 300;

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name), ext) : ext.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/**
 * Where a file says what it holds: the comment lines before the first import or declaration, or in C++
 * (native/) the comment lines it starts with, before its first #include or #pragma.
 */
function header(file: string, text: string): string {
  const lines = text.split('\n');
  const code = /\.(cc|h)$/.test(file)
    ? (l: string) => !/^\s*(\/\/.*)?$/.test(l)
    : (l: string) => /^(import|export|const|let|function|class|interface|type)\b/.test(l);
  const end = lines.findIndex(code);
  return lines.slice(0, end < 0 ? lines.length : end).join('\n');
}

/** A file over the limit whose header does not say it stays long on purpose, as "file: N lines". */
function tooLong(file: string, text: string): string | null {
  const n = text.trimEnd().split('\n').length;
  return n > maxLines && !/on purpose/i.test(header(file, text)) ? `${file}: ${n} lines` : null;
}

/** Comment-or-code lines that cite an issue by number or a style file that is not in the repository. */
function citations(file: string, text: string): string[] {
  const issue = new RegExp(['\\bissues?', '\\s*#?\\d+'].join(''), 'i');
  const style = /\bstyle[ -]?guide\b|\bSTYLE\.md\b|\bCONTRIBUTING\.md\b/i;
  return text.split('\n').flatMap((l, i) => (issue.test(l) || style.test(l) ? [`${file}:${i + 1}: ${l.trim()}`] : []));
}

const sources = [
  ...['src', 'web/src', 'bench', 'test'].flatMap((d) => files(d, /\.ts$/)),
  ...files('native', /\.(cc|h)$/),
  ...files('tools', /\.(mjs|py)$/),
];

test(`no source file over ${maxLines} lines without a reason ("on purpose") in its header`, () => {
  const long = [...['src', 'web/src'].flatMap((d) => files(d, /\.ts$/)), ...files('native', /\.(cc|h)$/)].flatMap(
    (f) => tooLong(f, readFileSync(join(root, f), 'utf8')) ?? [],
  );
  assert.deepEqual(long, []);
});

test('no comment cites an issue number or a style file that is not in the repository', () => {
  assert.deepEqual(
    sources.flatMap((f) => citations(f, readFileSync(join(root, f), 'utf8'))),
    [],
  );
});

test('the checks catch a long file without a reason, and an issue number or a style-file mention in a comment', () => {
  const body = Array.from({ length: maxLines + 1 }, (_, i) => `const a${i} = ${i};`).join('\n');
  assert.equal(tooLong('a.ts', `// Some helpers.\n${body}`), `a.ts: ${maxLines + 2} lines`);
  assert.equal(tooLong('a.ts', `// One loop, kept in one file on purpose: it shares its state.\n${body}`), null);
  assert.equal(tooLong('a.ts', `${body}\n// on purpose (too late: not the header)`), `a.ts: ${maxLines + 2} lines`);
  // C++: the comment a file starts with, up to its first #include or #pragma.
  const cc = Array.from({ length: maxLines }, (_, i) => `int a${i} = ${i};`).join('\n');
  assert.equal(tooLong('a.cc', `// Some kernels.\n#include "a.h"\n${cc}`), `a.cc: ${maxLines + 2} lines`);
  assert.equal(tooLong('a.h', `// Tables,\n// kept whole on purpose.\n#pragma once\n${cc}`), null);
  assert.equal(
    tooLong('a.cc', `// Some kernels.\n#include "a.h"\n// on purpose (too late)\n${cc}`),
    `a.cc: ${maxLines + 3} lines`,
  );
  assert.equal(tooLong('a.cc', `// Some kernels.\n#include "a.h"\n${cc.split('\n').slice(2).join('\n')}`), null);
  const said = ['// as ', 'issue', ' 12 asks', '\n/* see Issue', ' #3 */\n// per the style', ' guide\nconst x = 1;'];
  assert.deepEqual(
    citations('b.ts', said.join('')).map((l) => l.split(':')[1]),
    ['1', '2', '3'],
  );
  assert.deepEqual(citations('c.ts', '// the issue of rounding: 3 cases\nconst issues = 2;'), []);
});
