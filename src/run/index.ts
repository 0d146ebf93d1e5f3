// The run directory: config.json, summary.json, metrics.jsonl, the checkpoint and the model
// files, each with one typed definition, its writer and its reader.
export { checkpointPath, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export {
  configFile,
  type ModelRecord,
  type RunConfig,
  readRunConfig,
  readTrainSettings,
  type TrainSettings,
} from './config.js';
export { type MachineInfo, machineInfo } from './machine.js';
export {
  type EpochRecord,
  epochRecord,
  type MetricsRecord,
  type MetricsTail,
  metricsFile,
  readEpochMetrics,
  readMetrics,
  readMetricsTail,
  type StepRecord,
  startMetrics,
} from './metrics.js';
export {
  type LoadedRun,
  loadModel,
  loadRun,
  modelRecord,
  type SaveInfo,
  saveModel,
  saveModelFiles,
} from './model-file.js';
export { openRun, type RunDataOptions, runDataset, runNormalization } from './open.js';
export {
  type CompletedSummary,
  checkSummary,
  completedSummary,
  type DivergedSummary,
  type InterruptedSummary,
  type RunSummary,
  readRunSummary,
  summarize,
  summaryFile,
} from './summary.js';
export { summarySchema } from './summary-schema.js';
export { trainingWarnings } from './warnings.js';
