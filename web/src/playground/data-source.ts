// Where the page's data comes from: the server that serves it (`convts serve`: GET api/data lists the
// data sets of its data directory, GET api/data/<set>/<file> gives a file's bytes), or the files the
// user drops or chooses. Either way the four IDX files (or CIFAR-10's batches) go to the worker,
// transferred, not copied; a folder of pictures by class (or a zip of one) goes as File objects,
// which the worker reads.
import { isZip } from './picture-drop.js';
import type { CifarFiles, PictureFiles, SplitFiles, ToWorker } from './protocol.js';

/** A data set as GET api/data lists it (src/serve/data-files.ts). */
interface ServerSet {
  name: string;
  complete: boolean;
  files: { name: string; file: string }[];
}

/** The data sets the page can train on. */
const readable = ['mnist', 'fashion-mnist', 'cifar-10'];
/** Records in one CIFAR-10 training batch: the page fetches only the batches the training limit needs. */
const perBatch = 10_000;
const isCifarFile = (n: string) => /\.bin(\.gz)?$/.test(n);
const canonical = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
];

export interface DataSource {
  /** Asks the server which data sets it has and offers those in the select; false when it does not say. */
  listServer(): Promise<boolean>;
  loadFromServer(): Promise<void>;
  loadFiles(list: FileList | null): Promise<void>;
  /** A folder of pictures by class (paths as "folder/class/file.png"), or one .zip. */
  loadPictures(name: string, files: PictureFiles['files']): void;
}

export function dataSource(
  select: HTMLSelectElement,
  status: HTMLElement,
  send: (m: ToWorker, transfer: Transferable[]) => void,
  trainLimit: () => number,
  pictureSize: () => number | null,
): DataSource {
  let listed: ServerSet[] | null = null;

  function loadPictures(name: string, files: PictureFiles['files']) {
    if (!files.length)
      throw new Error(`${name}: the folder is empty — give a folder with a subfolder of pictures per class`);
    send({ type: 'pictures', name, files, size: pictureSize() }, []);
    status.textContent = 'reading pictures…';
  }

  /** Batches by name: training ones (data_batch_N, in order) and the test one(s); batches.meta.txt names the classes. */
  function sendCifar(byName: Map<string, ArrayBuffer>) {
    const names = [...byName.keys()];
    const pick = (test: boolean) =>
      names
        .filter((n) => isCifarFile(n) && n.includes('test') === test)
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
        .map((name) => ({ name, bytes: byName.get(name) as ArrayBuffer }));
    const meta = names.find((n) => n.endsWith('batches.meta.txt'));
    const m: CifarFiles = {
      train: pick(false),
      test: pick(true),
      meta: meta ? new TextDecoder().decode(byName.get(meta)) : null,
    };
    if (!m.train.length || !m.test.length)
      throw new Error(
        `CIFAR-10 needs training batches (data_batch_1.bin …) and a test batch (test_batch.bin), got ${names.join(', ')}`,
      );
    send(
      { type: 'cifar', ...m },
      [...m.train, ...m.test].map((f) => f.bytes),
    );
    status.textContent = 'reading…';
  }

  function sendData(byName: Map<string, ArrayBuffer>) {
    if ([...byName.keys()].some(isCifarFile)) return sendCifar(byName);
    const find = (stem: string) => [...byName.keys()].find((k) => k.includes(stem));
    const pick = (split: 'train' | 't10k'): SplitFiles => {
      const imagesName = find(`${split}-images`);
      const labelsName = find(`${split}-labels`);
      if (!imagesName || !labelsName)
        throw new Error(
          `no ${split}-images/${split}-labels file among ${[...byName.keys()].join(', ')} — give the four MNIST-style IDX files or CIFAR-10's .bin batches`,
        );
      return {
        imagesName,
        labelsName,
        images: byName.get(imagesName) as ArrayBuffer,
        labels: byName.get(labelsName) as ArrayBuffer,
      };
    };
    const [train, test] = [pick('train'), pick('t10k')];
    const name = select.value as 'mnist' | 'fashion-mnist';
    send({ type: 'data', name, train, test }, [train.images, train.labels, test.images, test.labels]);
    status.textContent = 'reading…';
  }

  /** The listed training batches the limit needs (data_batch_1..N), the test batch and the class names. */
  function cifarFiles(entry: ServerSet | undefined): string[] {
    if (!entry) throw new Error('the server did not list cifar-10 — start convts serve with --data-dir');
    const limit = trainLimit();
    const need = limit >= 1 ? Math.ceil(limit / perBatch) : undefined;
    const train = entry.files
      .filter((f) => /^data_batch_\d+\.bin$/.test(f.name))
      .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
      .slice(0, need);
    const rest = entry.files.filter((f) => f.name.includes('test') || f.name === 'batches.meta.txt');
    return [...train, ...rest].map((f) => f.file);
  }

  return {
    async listServer() {
      const r = await fetch('api/data').catch(() => null);
      const body = r?.ok ? await r.json().catch(() => null) : null;
      if (!Array.isArray(body?.sets)) return false;
      listed = body.sets as ServerSet[];
      // In the page's order, so MNIST (the quickest to train) stays the default when the server has it.
      const usable = readable.flatMap((n) => listed?.filter((s) => s.complete && s.name === n) ?? []);
      if (usable.length) select.replaceChildren(...usable.map((s) => new Option(s.name, s.name)));
      const others = listed.filter((s) => !usable.includes(s)).map((s) => s.name);
      status.textContent =
        `the server has ${usable.map((s) => s.name).join(', ') || 'no data set the page reads'}` +
        (others.length ? ` (not usable here: ${others.join(', ')})` : '');
      return true;
    },
    async loadFromServer() {
      const set = select.value;
      // The listed stored names (gzipped or not), else the canonical .gz downloads.
      const entry = listed?.find((s) => s.name === set);
      const files =
        set === 'cifar-10'
          ? cifarFiles(entry)
          : canonical.map((n) => entry?.files.find((f) => f.name === n)?.file ?? `${n}.gz`);
      const got = await Promise.all(
        files.map(async (f) => {
          const r = await fetch(`api/data/${set}/${f}`);
          if (!r.ok)
            throw new Error(`${set}/${f}: ${(await r.text()) || r.status} — start convts serve with --data-dir`);
          return [f, await r.arrayBuffer()] as const;
        }),
      );
      sendData(new Map(got));
    },
    async loadFiles(list) {
      if (!list?.length) return;
      const zip = [...list].find((f) => isZip(f.name));
      if (zip) {
        if (list.length > 1) throw new Error(`give ${zip.name} alone: a zip of pictures by class is one data set`);
        return loadPictures(zip.name.replace(/\.zip$/i, ''), [{ path: zip.name, file: zip }]);
      }
      sendData(new Map(await Promise.all([...list].map(async (f) => [f.name, await f.arrayBuffer()] as const))));
    },
    loadPictures,
  };
}
