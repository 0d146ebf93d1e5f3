// The JSON the dashboard's server hands to the page. Types only: web/ imports them too, so the
// server and the page cannot disagree about a field.

export type RunStatus = 'running' | 'completed' | 'interrupted' | 'failed' | 'diverged' | 'damaged';

/** One row of the runs table. */
export interface RunRow {
  /** Path under the served folders, '/'-separated, starting with the folder's name. */
  id: string;
  model: string | null;
  dataset: string | null;
  status: RunStatus;
  /** Why the run is shown as damaged (a file that does not parse), if it is. */
  damaged: string | null;
  bestAccuracy: number | null;
  lastAccuracy: number | null;
  epochs: number;
  /** Epochs asked for, when config.json says. */
  epochsPlanned: number | null;
  /** Training images (config.json records them when training starts; older runs, summary.json at the end). */
  trainSize: number | null;
  seconds: number | null;
  /** Key hyperparameters: optimizer, lr, batch size, filters, activation, pool, seed. */
  hyper: Record<string, string | number | null>;
  /** Last change of any of the run's files, ms since 1970. */
  updated: number;
  /** The sweep this run is a trial of. */
  sweep: string | null;
}

export interface SweepRow {
  id: string;
  /** Swept keys and their values, as sweep.json records them. */
  grid: Record<string, (string | number)[]>;
  trials: { id: string; name: string; params: Record<string, string | number> }[];
}

export interface RunsResponse {
  runs: RunRow[];
  sweeps: SweepRow[];
}

/** A per-epoch record of metrics.jsonl. */
export interface EpochRecord {
  kind?: 'epoch';
  epoch: number;
  lr?: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number | null;
  testAccuracy: number | null;
  /** The test split beside a validation set (testLoss/testAccuracy are then the validation set's). */
  testSplitLoss?: number;
  testSplitAccuracy?: number;
  seconds?: number;
  evalSeconds?: number;
}

/** A per-step record of metrics.jsonl. */
export interface StepRecord {
  kind: 'step';
  step: number;
  epoch: number;
  loss: number;
  accuracy: number;
  lr: number;
  imagesPerSecond: number;
}

export type MetricRecord = EpochRecord | StepRecord;

/** Records of metrics.jsonl from byte `offset` on; `next` is where the following poll starts. */
export interface MetricsResponse {
  records: MetricRecord[];
  next: number;
  /** A line that does not parse, with its number: the run is damaged there. */
  damaged: string | null;
  status: RunStatus;
  /** What the server saw of the file: the next poll sends it back as `file`, so a replaced file is noticed. */
  file: string;
  /** The file was replaced, rewritten or cut since the poll's offset: drop what was read, these are all its records. */
  reset: boolean;
}

export interface LayerInfo {
  name: string;
  kind: string;
  outShape: number[];
  params: number;
}

/** Everything the run page shows that does not need the model to run. */
export interface RunDetail {
  row: RunRow;
  config: Record<string, unknown> | null;
  summary: Record<string, unknown> | null;
  layers: LayerInfo[];
  /** Which model-dependent views the server can compute (model and test data found). */
  canCompute: { model: boolean; data: boolean; reason: string | null };
}

/** A stack of same-sized grey or colour pictures as flat numbers, with their value range. */
export interface MapStack {
  name: string;
  /** [count, channels, h, w]: channels is 3 for colour pictures, else 1. */
  shape: [number, number, number, number];
  /** Empty when `packed` holds the values. */
  data: number[];
  min: number;
  max: number;
  /** The values as a saved report holds them (the page unpacks them into `data`). */
  packed?: PackedValues;
}

/**
 * Values as bytes, deflated and in base64: value v of part i is stored as
 * round(255 · (v − lo[i]) / (hi[i] − lo[i])). A part is one picture, or the whole stack when it is
 * drawn on one colour scale (filters): 256 steps of what is drawn, as many as a screen shows.
 */
export interface PackedValues {
  lo: number[];
  hi: number[];
  deflated: string;
}

/** Weights of a conv layer as [filters × input channels, 1, kh, kw] pictures. */
export interface FilterSet extends MapStack {
  inChannels: number;
}

export interface FeatureMapsResponse {
  title: string;
  input: MapStack;
  layers: (MapStack & { kind: string; zero: boolean[] })[];
  probabilities: number[];
}

/** A picture as a PNG data URL. */
export interface PngImage {
  width: number;
  height: number;
  src: string;
}

export interface CellImage {
  index: number;
  label: number;
  predicted: number;
  probabilities: number[];
  image: PngImage;
}

export interface ImagesResponse {
  images: CellImage[];
  total: number;
  /** Why the run's saved probabilities were not used (a damaged file), if they were not. */
  note: string | null;
}

/**
 * Answered (HTTP 202) while the server computes the test images' probabilities for a run that has
 * none saved: images done of total, and how many other runs' computations are ahead.
 */
export interface PendingResponse {
  pending: { done: number; total: number; queued: number };
  note: string | null;
}

/** A Task 1 run's fixed filter bank (from its feature file) and the bank's maps of one test image. */
export interface BankResponse {
  /** The feature file the run trained on. */
  file: string;
  /** "lm" or the bank file, as the feature file's header names it. */
  bankName: string | null;
  /** [count, 1, kh, kw], or null with the reason when the bank cannot be rebuilt or read. */
  filters: FilterSet | null;
  maps: { index: number; title: string; input: MapStack; maps: MapStack } | null;
  /** Why the filters or the maps are missing. */
  reason: string | null;
}
