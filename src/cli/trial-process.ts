// A queued trial's training, in a process of its own that `convts worker` forks: it takes the
// validated settings over the IPC channel (never as a command line) and trains exactly as
// `convts train` does. It dies with its worker: a killed worker's trials stop too, so the
// trial BullMQ hands to another worker is not also still running here.
import { ConvtsError, UsageError } from '../errors.js';
import { useKernels } from '../kernels/index.js';
import { defaultKernels } from '../kernels/node-loader.js';
import type { TrainConfig } from './train-flags.js';
import { runTraining } from './train-run.js';

export interface TrialMessage {
  config: TrainConfig;
  out: string;
  offline: boolean;
}

process.on('disconnect', () => process.exit(1));
process.once('message', (m: TrialMessage) => {
  useKernels(defaultKernels());
  runTraining(m.config, m.out, { offline: m.offline, json: false, resume: false }).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`convts: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(e instanceof UsageError ? 2 : e instanceof ConvtsError ? 1 : 70);
    },
  );
});
