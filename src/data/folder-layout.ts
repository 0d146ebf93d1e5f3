// Which files of a folder of pictures by class are samples, and of which class: the one rule of
// `convts train --dataset folder:DIR` and of a folder or zip dropped on the playground. It works on
// relative paths ("cat/1.png"), not on a disk, so it has no Node import.
import { ConfigError } from '../errors.js';

/** File name endings read as pictures (PNG or JPEG; the content decides which). */
export const pictureExtensions = ['.png', '.jpg', '.jpeg'] as const;

/** One sample: its path as given, and its class index. */
export interface FolderSample {
  path: string;
  label: number;
}

/** The classes and samples of a folder: `test` when it holds train/ and test/ folders, else null. */
export interface FolderLayout {
  classNames: string[];
  train: FolderSample[];
  test: FolderSample[] | null;
}

/**
 * Whether a path is left out: anything hidden (a name starting with ".", as .DS_Store, macOS's
 * ._name resource forks and .git/), __MACOSX/ (the resource forks macOS's zip adds), and every file
 * whose name does not end in a picture extension.
 */
export function isSkipped(path: string): boolean {
  const parts = path.split('/');
  const file = parts[parts.length - 1].toLowerCase();
  return parts.some((p) => p.startsWith('.') || p === '__MACOSX') || !pictureExtensions.some((e) => file.endsWith(e));
}

/**
 * The paths below one folder that every path shares, dropped while each path is still at least
 * `<class>/<file>` deep: a folder dropped whole ("photos/cat/1.png"), or a zip of one, is read as
 * its content. `paths` are already filtered with isSkipped.
 */
export function stripCommonFolder(paths: string[]): { paths: string[]; root: string } {
  let split = paths.map((p) => p.split('/'));
  const root: string[] = [];
  while (split.length && split.every((s) => s.length >= 3 && s[0] === split[0][0])) {
    root.push(split[0][0]);
    split = split.map((s) => s.slice(1));
  }
  return { paths: split.map((s) => s.join('/')), root: root.join('/') };
}

/**
 * Classes and samples of `paths` (relative, "/"-separated; skipped ones are ignored): the class
 * is the first folder of the path (`<class>/…/<file>`), classes in sorted order; with `train/`
 * and `test/` folders both present, each is such a folder and the classes must agree. Samples are
 * interleaved class by class (the first picture of each class, then the second, …; within a class
 * in sorted path order), so "the last N in file order" — a validation hold-out — draws from every
 * class. `where` names the folder in errors.
 */
export function folderLayout(paths: string[], where: string): FolderLayout {
  const kept = paths.filter((p) => !isSkipped(p));
  const top = new Set(kept.map((p) => p.split('/')[0]));
  if (top.has('train') && top.has('test')) {
    const under = (s: string) => kept.filter((p) => p.startsWith(`${s}/`));
    const train = classesOf(under('train'), `${where}/train`, 1);
    const test = classesOf(under('test'), `${where}/test`, 1);
    if (train.classNames.join('\n') !== test.classNames.join('\n'))
      throw new ConfigError(
        `${where}: the test classes (${test.classNames.join(', ')}) differ from the training classes (${train.classNames.join(', ')})`,
      );
    return { classNames: train.classNames, train: train.samples, test: test.samples };
  }
  const { classNames, samples } = classesOf(kept, where, 0);
  return { classNames, train: samples, test: null };
}

// The class of each path is its folder at depth `at` (1 below train/ and test/).
function classesOf(paths: string[], where: string, at: number): { classNames: string[]; samples: FolderSample[] } {
  const byClass = new Map<string, string[]>();
  const loose: string[] = [];
  for (const p of paths) {
    const parts = p.split('/');
    if (parts.length < at + 2) {
      loose.push(p);
      continue;
    }
    const c = parts[at];
    const list = byClass.get(c);
    if (list) list.push(p);
    else byClass.set(c, [p]);
  }
  const classNames = [...byClass.keys()].sort();
  if (classNames.length < 2 || classNames.length > 256) {
    const found = classNames.length ? ` (${classNames.join(', ')})` : '';
    const pictures = loose.length ? `; ${loose.length} picture(s) lie outside any class folder` : '';
    throw new ConfigError(
      `${where}: found ${classNames.length} class folder(s) with pictures${found}${pictures} — need 2 to 256: put each class's pictures (.png, .jpg) in ${where}/<class name>/`,
    );
  }
  const perClass = classNames.map((c) => (byClass.get(c) ?? []).sort());
  const samples: FolderSample[] = [];
  const total = perClass.reduce((n, files) => n + files.length, 0);
  for (let k = 0; samples.length < total; k++) {
    perClass.forEach((files, label) => {
      if (k < files.length) samples.push({ path: files[k], label });
    });
  }
  return { classNames, samples };
}
