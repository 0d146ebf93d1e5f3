// Where the page's data comes from: the server that serves it (`convts serve`: GET api/data lists the
// data sets of its data directory, GET api/data/<set>/<file> gives a file's bytes), or the files the
// user drops or chooses. Either way the four IDX files go to the worker, transferred, not copied.
import type { SplitFiles, ToWorker } from './protocol.js';

/** A data set as GET api/data lists it (src/serve/data-files.ts). */
interface ServerSet {
  name: string;
  complete: boolean;
  files: { name: string; file: string }[];
}

/** The data sets the page can train on: the IDX ones (CIFAR-10's binary batches are not read here yet). */
const readable = ['mnist', 'fashion-mnist'];
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
}

export function dataSource(
  select: HTMLSelectElement,
  status: HTMLElement,
  send: (m: ToWorker, transfer: Transferable[]) => void,
): DataSource {
  let listed: ServerSet[] | null = null;

  function sendData(byName: Map<string, ArrayBuffer>) {
    const find = (stem: string) => [...byName.keys()].find((k) => k.includes(stem));
    const pick = (split: 'train' | 't10k'): SplitFiles => {
      const imagesName = find(`${split}-images`);
      const labelsName = find(`${split}-labels`);
      if (!imagesName || !labelsName)
        throw new Error(
          `no ${split}-images/${split}-labels file among ${[...byName.keys()].join(', ')} — give the four MNIST-style IDX files`,
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

  return {
    async listServer() {
      const r = await fetch('api/data').catch(() => null);
      const body = r?.ok ? await r.json().catch(() => null) : null;
      if (!Array.isArray(body?.sets)) return false;
      listed = body.sets as ServerSet[];
      const usable = listed.filter((s) => s.complete && readable.includes(s.name));
      if (usable.length) select.replaceChildren(...usable.map((s) => new Option(s.name, s.name)));
      const others = listed.filter((s) => !usable.includes(s)).map((s) => s.name);
      status.textContent =
        `the server has ${usable.map((s) => s.name).join(', ') || 'no MNIST-style set'}` +
        (others.length ? ` (not usable here: ${others.join(', ')})` : '');
      return true;
    },
    async loadFromServer() {
      const set = select.value;
      // The listed stored names (gzipped or not), else the canonical .gz downloads.
      const entry = listed?.find((s) => s.name === set);
      const files = canonical.map((n) => entry?.files.find((f) => f.name === n)?.file ?? `${n}.gz`);
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
      sendData(new Map(await Promise.all([...list].map(async (f) => [f.name, await f.arrayBuffer()] as const))));
    },
  };
}
