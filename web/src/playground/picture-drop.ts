// A folder of pictures by class as the page receives it: dropped (its entries walked with
// webkitGetAsEntry), chosen with a folder input (webkitdirectory), or a .zip. Only the File objects
// and their paths go to the worker, which reads and decodes them: the page's main thread never does.
import type { DataSource } from './data-source.js';
import type { PictureFiles } from './protocol.js';

type Found = PictureFiles['files'];

/** The folder's files when the drop holds a folder (else null: plain files, handled as before). */
async function droppedFolder(dt: DataTransfer): Promise<Found | null> {
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
function chosenFolder(list: FileList): Found {
  return [...list].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}

/** The name to show for a folder's files: the first folder of their paths, or a zip's name. */
function folderName(files: Found): string {
  const tops = new Set(files.map((f) => f.path.split('/')[0]));
  return tops.size === 1 ? [...tops][0] : 'the dropped folders';
}

export const isZip = (name: string) => /\.zip$/i.test(name);

/**
 * The drop zone takes a folder (walked here, read by the worker) or files (data-source.ts); the
 * folder input a chosen folder. `guard` shows an error in the page.
 */
export function dropZone(
  drop: HTMLElement,
  folderInput: HTMLInputElement,
  data: DataSource,
  guard: (f: () => unknown) => () => void,
): void {
  drop.ondragover = (e) => {
    e.preventDefault();
    drop.classList.add('over');
  };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const dt = e.dataTransfer;
    if (!dt) return;
    // The entries must be taken before the event returns; their files are read afterwards.
    const folder = droppedFolder(dt);
    const files = dt.files;
    guard(async () => {
      const found = await folder;
      if (found) data.loadPictures(folderName(found), found);
      else await data.loadFiles(files);
    })();
  };
  folderInput.onchange = guard(() => {
    if (!folderInput.files?.length) return;
    const found = chosenFolder(folderInput.files);
    data.loadPictures(folderName(found), found);
  });
}
