// A folder of pictures by class as the page receives it: dropped (its entries walked with
// webkitGetAsEntry), chosen with a folder input (webkitdirectory), or a .zip. Only the File objects
// and their paths go to the worker, which reads and decodes them: the page's main thread never does.
import type { PictureFiles } from './protocol.js';

type Found = PictureFiles['files'];

/** The folder's files when the drop holds a folder (else null: plain files, handled as before). */
export async function droppedFolder(dt: DataTransfer): Promise<Found | null> {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  if (!entries.some((e) => e.isDirectory)) return null;
  const found: Found = [];
  await Promise.all(entries.map((e) => walk(e, found)));
  return found;
}

// One entry at a time: asking for many files at once holds up the page's frames (over a second for
// a thousand in Chromium), one at a time costs about a millisecond each.
async function walk(entry: FileSystemEntry, found: Found): Promise<void> {
  const path = entry.fullPath.replace(/^\//, '');
  if (entry.isFile) {
    const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
    found.push({ path, file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries gives a batch at a time (100 in Chromium) until it gives none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (!batch.length) return;
    for (const e of batch) await walk(e, found);
  }
}

/** Files chosen with the folder input, each with its path in the chosen folder. */
export function chosenFolder(list: FileList): Found {
  return [...list].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}

/** The name to show for a folder's files: the first folder of their paths, or a zip's name. */
export function folderName(files: Found): string {
  const tops = new Set(files.map((f) => f.path.split('/')[0]));
  return tops.size === 1 ? [...tops][0] : 'the dropped folders';
}

export const isZip = (name: string) => /\.zip$/i.test(name);
