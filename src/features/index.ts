// Fixed filter-bank features (the report's task 1): banks, extraction through a frozen conv
// layer, a cached feature file, and a Dataset over the features.
export { bankFilter, bankFromArray, checkBankFits, type FilterBank } from './bank.js';
export { loadBank, parseJsonBank } from './bank-file.js';
export {
  type CacheOptions,
  cachedFeatures,
  type FeatureJob,
  type FeatureResult,
  featureKey,
  loadFeatureDatasets,
} from './cache.js';
export { FeatureDataset } from './dataset.js';
export { type ExtractOptions, extractFeatures, featureMaps, featureNet } from './extract.js';
export { type FeatureHeader, readFeatureFile, readFeatureHeader, writeFeatureFile } from './feature-file.js';
export { type LmOptions, lmBank, lmDefaults } from './lm.js';
export { isNpy, type NpyArray, parseNpy } from './npy.js';
