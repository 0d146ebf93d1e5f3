// Fixed filter-bank features (the report's task 1): banks, extraction through a frozen conv
// layer, a cached feature file, and a Dataset over the features.
export { bankFilter, bankFromArray, checkBankFits, type FilterBank } from './bank.js';
export { loadBank, parseJsonBank } from './bank-file.js';
export { cachedFeatures, featureKey, loadFeatureDatasets, type CacheOptions, type FeatureJob, type FeatureResult } from './cache.js';
export { FeatureDataset } from './dataset.js';
export { extractFeatures, featureMaps, featureNet, type ExtractOptions } from './extract.js';
export { readFeatureFile, readFeatureHeader, writeFeatureFile, type FeatureHeader } from './feature-file.js';
export { lmBank, lmDefaults, type LmOptions } from './lm.js';
export { isNpy, parseNpy, type NpyArray } from './npy.js';
