#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { ConvtsError, UsageError } from '../errors.js';
import { escapedFileError } from '../files/checked.js';
import { useKernels } from '../kernels/index.js';
import { defaultKernels } from '../kernels/node-loader.js';

const help = `convts — convolutional neural networks from first principles

Usage: convts <command> [options]

Commands
  train     train a model on a data set and write a run directory
  sweep     train a grid of hyperparameters, one run per trial, and compare them
  worker    run the trials of sweeps started with sweep --queue, on any machine
  download  fetch and verify mnist, fashion-mnist or cifar-10
  eval      measure a saved model: accuracy, loss, per-class precision/recall, confusion
  predict   classify PNG and JPEG images with a saved model (top-k with probabilities)
  export    write a run's model as ONNX (raw pixels in, logits and probabilities out)
  import    make a run directory from an ONNX model (e.g. exported by PyTorch)
  show      draw a run's curves, confusion, filters, feature maps or report again
  serve     watch, compare and dig into runs in the browser (live)
  features  convolve a data set with a fixed filter bank and cache the features
  bench     time training and inference of the built-in networks (--compare torch)
  help      show this help, or a command's: convts help train

Run "convts <command> --help" for a command's options. train and sweep also take
--config FILE.json (the flag names as keys; flags on the command line override it).

Exit codes
  0    done
  1    the work failed: missing or malformed data or files, training diverged
  2    usage: unknown command or flag, a bad flag value or --config file
  130  stopped by Ctrl-C (convts train saves a checkpoint; resume with --resume RUN)

Kernels: the fastest built (native, wasm, reference); CONVTS_BACKEND=<name> and CONVTS_THREADS=<n> override.
Example: convts train --model seed-mnist --dataset mnist --data-dir ../shared/datasets --epochs 1
`;

interface Command {
  run: (argv: string[]) => Promise<number>;
  help: string;
}

// Each command's module is loaded when it runs: startup stays short (the queue client, the ONNX
// decoder and the web server are only loaded by the commands that use them).
const commands: Record<string, () => Promise<Command>> = {
  train: async () => ({
    run: (await import('./train.js')).trainCommand,
    help: (await import('./train-flags.js')).trainHelp,
  }),
  sweep: async () => import('./sweep.js').then((m) => ({ run: m.sweepCommand, help: m.sweepHelp })),
  worker: async () => import('./worker.js').then((m) => ({ run: m.workerCommand, help: m.workerHelp })),
  download: async () => import('./download.js').then((m) => ({ run: m.downloadCommand, help: m.downloadHelp })),
  eval: async () => import('./eval.js').then((m) => ({ run: m.evalCommand, help: m.evalHelp })),
  predict: async () => import('./predict.js').then((m) => ({ run: m.predictCommand, help: m.predictHelp })),
  export: async () => import('./export.js').then((m) => ({ run: m.exportCommand, help: m.exportHelp })),
  import: async () => import('./import.js').then((m) => ({ run: m.importCommand, help: m.importHelp })),
  show: async () => import('./show.js').then((m) => ({ run: m.showCommand, help: m.showHelp })),
  serve: async () => import('./serve.js').then((m) => ({ run: m.serveCommand, help: m.serveHelp })),
  features: async () => import('./features.js').then((m) => ({ run: m.featuresCommand, help: m.featuresHelp })),
  bench: async () => import('./bench.js').then((m) => ({ run: m.benchCommand, help: m.benchHelp })),
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h') {
    process.stdout.write(help);
    return 0;
  }
  if (cmd === '--version') {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  if (cmd === 'help') {
    process.stdout.write(Object.hasOwn(commands, rest[0] ?? '') ? (await commands[rest[0]]()).help : help);
    return 0;
  }
  if (!Object.hasOwn(commands, cmd)) {
    process.stderr.write(
      `convts: unknown command "${cmd}" — use one of ${Object.keys(commands).join(', ')} (convts --help)\n`,
    );
    return 2;
  }
  // The fastest kernels built here ($CONVTS_BACKEND and $CONVTS_THREADS choose others).
  useKernels(defaultKernels());
  return (await commands[cmd]()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const fileError = escapedFileError(e);
    if (fileError) {
      process.stderr.write(`convts: ${fileError.message}\n`);
      process.exitCode = 1;
    } else if (e instanceof ConvtsError) {
      process.stderr.write(`convts: ${e.message}\n`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    } else if (e instanceof Error && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`convts: ${e.message} — see convts ${process.argv[2]} --help\n`);
      process.exitCode = 2;
    } else {
      throw e;
    }
  },
);
