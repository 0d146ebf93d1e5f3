/** `convts train`: parses the command line (or --resume) and starts the run. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveDataDir } from '../data/index.js';
import { ConfigError, UsageError } from '../errors.js';
import { checkpointPath, configFile, readTrainSettings, summaryFile } from '../run/index.js';
import { parseCommand, readConfigFile } from './args.js';
import { trainHelp, trainOptions } from './train-flags.js';
import { runTraining } from './train-run.js';
import { resolveLayers } from './train-settings.js';

/** `convts train`: returns the process exit code. */
export async function trainCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, trainOptions, trainHelp, 'train');
  if (!parsed) return 0;
  const { values: flags, positionals } = parsed;
  if (positionals.length)
    throw new UsageError(
      `train takes no arguments, got "${positionals[0]}" — flags start with -- (see convts train --help)`,
    );
  const offline = Boolean(flags.offline) || process.env.CONVTS_OFFLINE === '1';
  if (flags.resume !== undefined) {
    const extra = Object.keys(flags).filter((k) => !['resume', 'data-dir', 'offline', 'json'].includes(k));
    if (extra.length)
      throw new UsageError(`--resume continues a run with its own config.json — drop --${extra.join(', --')}`);
    if (!existsSync(checkpointPath(flags.resume))) {
      throw new ConfigError(
        `${checkpointPath(flags.resume)} not found — --resume takes a run directory stopped with Ctrl-C` +
          (existsSync(join(flags.resume, summaryFile)) ? ' (this run has a summary.json: it already finished)' : ''),
      );
    }
    const config = readTrainSettings(flags.resume);
    if (flags['data-dir'] !== undefined) config.dataDir = resolveDataDir(flags['data-dir']);
    return runTraining(config, flags.resume, {
      offline,
      json: Boolean(flags.json),
      resume: true,
      batchFrom: `${join(flags.resume, configFile)}: "batchSize"`,
    });
  }
  const file = flags.config === undefined ? {} : readConfigFile(flags.config, trainOptions, 'train');
  const config = resolveLayers([
    { source: flags.config ?? '', flags: file },
    { source: '', flags },
  ]);
  const out =
    flags.out ??
    (file.out as string | undefined) ??
    join('runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${config.spec.name ?? 'model'}`);
  const batchFrom =
    flags['batch-size'] === undefined && file['batch-size'] !== undefined ? `${flags.config}: "batch-size"` : undefined;
  return runTraining(config, out, { offline, json: Boolean(flags.json ?? file.json), resume: false, batchFrom });
}
