import { readFileSync } from 'node:fs';
import { kernels } from '../kernels/index.js';
import { type MachineInfo, machineInfo } from './machine.js';

/** What a run ran with besides its settings: the command, convts's version, the kernels, the machine. */
export interface RunEnvironment {
  /** The command line as typed (arguments quoted where a shell needs it). */
  command: string;
  convtsVersion: string;
  /** The kernel set's name (reference, wasm-simd128, native-avx2, …) and its threads. */
  kernels: string;
  threads: number;
  machine: MachineInfo;
  /** The working folder, against which the command's relative paths (--features FILE, …) are read. */
  cwd: string;
  /** When training started, ISO 8601. */
  started: string;
}

/** The version in convts's package.json. */
export function convtsVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** An argument as a POSIX shell reads it back: bare when safe, else in single quotes. */
const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** A URL's password as "***" (`convts worker --queue redis://:secret@host` must not be written down). */
const masked = (a: string) => a.replace(/([a-z][\w+.-]*:\/\/[^/@:\s]*:)[^/@\s]*@/gi, '$1***@');

/** This process's environment, with the kernel set in use now. */
export function runEnvironment(argv: readonly string[] = process.argv.slice(2)): RunEnvironment {
  const k = kernels();
  return {
    command: ['convts', ...argv.map(masked)].map(quote).join(' '),
    convtsVersion: convtsVersion(),
    kernels: k.name,
    threads: k.threads ?? 1,
    machine: machineInfo(),
    cwd: process.cwd(),
    started: new Date().toISOString(),
  };
}
