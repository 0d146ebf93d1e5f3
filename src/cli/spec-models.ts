import { fileURLToPath } from 'node:url';

/** Built-in networks kept as spec files in models/, for anyone to copy and change. */
export const specModels = ['convts-mnist', 'convts-cifar'] as const;

/** The file of a built-in spec model: models/<name>.json in the package. */
export function specModelPath(name: string): string {
  return fileURLToPath(new URL(`../../../models/${name}.json`, import.meta.url));
}
