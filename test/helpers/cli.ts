import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment a test's child convts runs in: no data directory from the caller's shell. */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.CONVTS_DATA_DIR;
  return env;
}

/** Runs `convts <args>` as a child process. */
export function convts(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainJs, ...args], { env: childEnv(), timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Runs `convts <args>` and sends it SIGINT once its stderr matches `when`. */
export function convtsInterrupted(when: RegExp, ...args: string[]): Promise<Run & { signalled: boolean }> {
  return convtsInterruptedWith({}, when, ...args);
}

/** convtsInterrupted with `env` added to the child's environment. */
export function convtsInterruptedWith(
  env: NodeJS.ProcessEnv,
  when: RegExp,
  ...args: string[]
): Promise<Run & { signalled: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [mainJs, ...args], { env: { ...childEnv(), ...env } });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (b) => {
      stdout += b;
    });
    child.stderr.on('data', (b) => {
      stderr += b;
      if (!signalled && when.test(stderr)) signalled = child.kill('SIGINT');
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, signalled }));
  });
}

export const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
