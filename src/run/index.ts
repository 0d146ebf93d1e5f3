// The run directory: config.json, summary.json, metrics.jsonl, the checkpoint and the model
// files, each with one typed definition, its writer and its reader.
export { checkpointPath, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export {
  configFile,
  type ModelRecord,
  type RunConfig,
  type RunStart,
  readRunConfig,
  readTrainSettings,
  type TrainSettings,
  writeRunConfig,
} from './config.js';
export { convtsVersion, type RunEnvironment, runEnvironment } from './environment.js';
export { type MachineInfo, machineInfo } from './machine.js';
export {
  type EpochRecord,
  epochRecord,
  type MetricsRecord,
  type MetricsTail,
  metricsFile,
  parseMetricsTail,
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
  loadRunWeights,
  modelFile,
  modelRecord,
  type SaveInfo,
  saveModel,
  saveModelFiles,
  weightsFile,
} from './model-file.js';
export { openRun, type RunDataOptions, runDataset, runNormalization } from './open.js';
export { probabilitiesFile, readProbabilities, type SavedProbabilities, saveProbabilities } from './probabilities.js';
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
  writeRunSummary,
} from './summary.js';
export { summarySchema } from './summary-schema.js';
export { trainingWarnings } from './warnings.js';
