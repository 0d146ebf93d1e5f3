// The worker's data sets from the bytes the page sent: the four IDX files of MNIST-style sets, or
// CIFAR-10's binary batches, each inflated when gzipped and checked by the command line's parsers.
import { cifar10Classes, cifarDataset, parseCifarClassNames } from '../../../src/data/cifar-bytes.js';
import type { ByteImageDataset } from '../../../src/data/dataset.js';
import { idxClassNames, idxPairDataset } from '../../../src/data/idx-pair.js';
import type { CifarFiles, SplitFiles } from './protocol.js';
import { inflate, readSplit } from './read-idx.js';

export interface Loaded {
  name: string;
  train: ByteImageDataset;
  test: ByteImageDataset;
  /** The validation hold-out the test images are (as `convts train --val`), when they are one. */
  val?: number;
}

export async function loadIdx(name: 'mnist' | 'fashion-mnist', train: SplitFiles, test: SplitFiles): Promise<Loaded> {
  const split = async (f: SplitFiles, setName: string) =>
    idxPairDataset(
      setName,
      await readSplit(f.images, f.imagesName, 3),
      await readSplit(f.labels, f.labelsName, 1),
      f.imagesName,
      f.labelsName,
      idxClassNames[name],
    );
  return { name, train: await split(train, `${name}-train`), test: await split(test, `${name}-test`) };
}

export async function loadCifar(m: CifarFiles): Promise<Loaded> {
  const classNames = m.meta === null ? cifar10Classes : parseCifarClassNames(m.meta, 'batches.meta.txt');
  const split = async (files: CifarFiles['train'], setName: string) => {
    if (!files.length) throw new Error(`no ${setName} batch given — give data_batch_1.bin … and test_batch.bin`);
    const batches = [];
    for (const f of files) batches.push({ name: f.name, bytes: await inflate(new Uint8Array(f.bytes), f.name) });
    return cifarDataset(batches, setName, classNames);
  };
  return {
    name: 'cifar-10',
    train: await split(m.train, 'cifar-10-train'),
    test: await split(m.test, 'cifar-10-test'),
  };
}
