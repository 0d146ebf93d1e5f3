// The folder-of-pictures rules the command line and the playground share: which files are
// pictures, which folder is a class, train/ and test/, a dropped folder's own name, and the errors.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stripCommonFolder } from '../src/data/folder-layout.js';
import { ConfigError, folderLayout, isSkipped, readFolder } from '../src/index.js';
import { tmpDir } from './helpers/data-files.js';
import { drawRgb, writePng } from './helpers/pictures.js';

test('pictures by extension; hidden files, macOS resource forks and __MACOSX are skipped', () => {
  for (const p of ['cat/1.png', 'cat/2.JPG', 'cat/x/3.jpeg']) assert.equal(isSkipped(p), false, p);
  for (const p of ['cat/.DS_Store', 'cat/._1.png', '.git/a.png', '__MACOSX/cat/._1.png', 'cat/notes.txt', 'cat/1.gif'])
    assert.equal(isSkipped(p), true, p);
});

test('classes are the first folders, sorted; samples interleaved class by class in path order', () => {
  const layout = folderLayout(
    ['dog/b.png', 'cat/z/2.png', 'cat/1.png', 'dog/a.png', 'dog/c.png', 'x.png', 'cat/.a.png'],
    'pets',
  );
  assert.deepEqual(layout.classNames, ['cat', 'dog']);
  assert.equal(layout.test, null);
  assert.deepEqual(
    layout.train.map((s) => `${s.label}:${s.path}`),
    ['0:cat/1.png', '1:dog/a.png', '0:cat/z/2.png', '1:dog/b.png', '1:dog/c.png'],
  );
});

test('train/ and test/ folders are the splits, and their classes must agree', () => {
  const l = folderLayout(['train/a/1.png', 'train/b/1.png', 'test/a/1.png', 'test/b/2.png', 'other/c/1.png'], 'd');
  assert.deepEqual(l.classNames, ['a', 'b']);
  assert.deepEqual(
    l.test?.map((s) => s.path),
    ['test/a/1.png', 'test/b/2.png'],
  );
  assert.throws(
    () => folderLayout(['train/a/1.png', 'train/b/1.png', 'test/a/1.png', 'test/c/1.png'], 'd'),
    /d: the test classes \(a, c\) differ from the training classes \(a, b\)/,
  );
});

test('one class, no class at all or pictures outside any class folder: a ConfigError naming the folder', () => {
  const fails = (paths: string[], re: RegExp) =>
    assert.throws(
      () => folderLayout(paths, 'photos'),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
    );
  fails(['cat/1.png', 'cat/2.png'], /^photos: found 1 class folder\(s\) with pictures \(cat\) — need 2 to 256/);
  fails(['1.png', '2.png'], /found 0 class folder\(s\) with pictures; 2 picture\(s\) lie outside any class folder/);
  fails([], /found 0 class folder/);
});

test('a dropped folder (or a zip of one) is read as its content', () => {
  assert.deepEqual(stripCommonFolder(['photos/cat/1.png', 'photos/dog/1.png']), {
    paths: ['cat/1.png', 'dog/1.png'],
    root: 'photos',
  });
  assert.deepEqual(stripCommonFolder(['a/b/cat/1.png', 'a/b/dog/1.png']).root, 'a/b');
  // Classes at the top already, or a class folder with subfolders: nothing to strip below <class>/<file>.
  assert.deepEqual(stripCommonFolder(['cat/1.png', 'dog/1.png']).root, '');
  assert.deepEqual(stripCommonFolder(['photos/cat/1.png', 'photos/2.png']).root, '');
});

test('convts train reads a folder by the same rules: hidden files and __MACOSX skipped, grey only when every picture is', () => {
  const root = tmpDir();
  for (const c of ['a', 'b']) mkdirSync(join(root, c, 'more'), { recursive: true });
  const grey = (v: number) => drawRgb(3, 3, () => [v, v, v]);
  writePng(join(root, 'a', '1.png'), grey(10), 3, 3, 3);
  writePng(join(root, 'b', 'more', '1.png'), grey(200), 3, 3, 3);
  writeFileSync(join(root, 'a', '._1.png'), 'resource fork');
  mkdirSync(join(root, '__MACOSX', 'c'), { recursive: true });
  writeFileSync(join(root, '__MACOSX', 'c', '._1.png'), 'resource fork');
  const ds = readFolder(root);
  assert.deepEqual(
    [ds.classNames, ds.imageShape, [...ds.images]],
    [
      ['a', 'b'],
      [1, 3, 3],
      [...Array(9).fill(10), ...Array(9).fill(200)],
    ],
  );
  // One colour picture (not the first) makes the set RGB.
  writePng(
    join(root, 'b', '2.png'),
    drawRgb(3, 3, () => [200, 0, 0]),
    3,
    3,
    3,
  );
  assert.deepEqual(readFolder(root).imageShape, [3, 3, 3]);
});
