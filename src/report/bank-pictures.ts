import { bankFilter, type FilterBank } from '../features/bank.js';
import { type ExtractOptions, featureMaps, featureNet } from '../features/extract.js';
import type { Canvas } from './canvas.js';
import { featureMapsPicture } from './feature-maps.js';
import { filterGrid, filterPicture } from './filters.js';

export interface BankPictureOptions {
  /** Filters drawn one by one, large (0-based, as the report's filters[:, :, k]). */
  filters?: readonly number[];
  /** Convolution output maps of the image drawn large (0-based). */
  maps?: readonly number[];
  /** Which image the maps belong to, for titles. */
  imageName?: string;
}

/**
 * Task 1's pictures: the whole bank as a grid, chosen filters at a readable size, and the
 * bank's convolution (and pooling) maps of one image, all of them and chosen ones large.
 */
export function bankPictures(
  bank: FilterBank,
  image: Float32Array,
  inShape: readonly number[],
  extract: ExtractOptions,
  o: BankPictureOptions = {},
): { file: string; picture: Canvas }[] {
  const { count, kh, kw } = bank;
  const name = o.imageName ?? 'image';
  const out = [
    {
      file: 'bank.png',
      picture: filterGrid(bank.data, [count, 1, kh, kw], {
        title: `${bank.name}: ${count} filters of ${kh}×${kw} (tile n is filter n−1)`,
      }),
    },
  ];
  for (const k of o.filters ?? []) {
    out.push({
      file: `filter-${k}.png`,
      picture: filterPicture(bankFilter(bank, k), [1, kh, kw], `${bank.name} filter ${k}`),
    });
  }
  out.push({
    file: 'maps.png',
    picture: featureMapsPicture(featureNet(bank, inShape, extract), image, `${name} convolved with ${bank.name}`),
  });
  const maps = featureMaps(bank, image, inShape, extract);
  const [oh, ow] = [inShape[1] - kh + 1, inShape[2] - kw + 1];
  for (const k of o.maps ?? []) {
    if (!maps[k]) continue;
    out.push({ file: `map-${k}.png`, picture: filterPicture(maps[k], [1, oh, ow], `${name}, map ${k} (filter ${k})`) });
  }
  return out;
}
