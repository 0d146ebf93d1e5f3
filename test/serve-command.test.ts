import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { childEnv, convts, mainJs } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

// The `convts serve` command itself: the URL it prints, the address it binds, the warning for
// any other address, and its usage errors.

/** Starts `convts serve <args>` and resolves once it has printed its URL (or exited). */
function serve(...args: string[]): Promise<{ child: ChildProcess; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs, 'serve', ...args], { env: childEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b) => {
      stdout += b;
      if (/playground: /.test(stdout)) resolve({ child, stdout, stderr });
    });
    child.stderr!.on('data', (b) => {
      stderr += b;
    });
    child.on('exit', (code) => reject(new Error(`convts serve exited ${code}: ${stderr}`)));
  });
}

/** SIGINT, and the exit code it leaves with. */
function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

describe('convts serve (the command)', () => {
  const runs = join(tempDir('convts-serve-cmd-'), 'runs');
  mkdirSync(runs);
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  test('prints its URL on 127.0.0.1, answers there, warns about nothing, and Ctrl-C stops it with 0', async () => {
    const s = await serve(runs, '--port', '0');
    children.push(s.child);
    const m = /^convts serve: .*runs at (http:\/\/127\.0\.0\.1:(\d+)\/) {2}\(Ctrl-C stops\)$/m.exec(s.stdout);
    assert.ok(m, s.stdout);
    const r = await fetch(`${m[1]}api/runs`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { runs: [], sweeps: [] });
    assert.equal(s.stderr, '');
    assert.equal(await stop(s.child), 0);
  });

  test('--host other than loopback binds there and warns that anyone who reaches the port can read the runs', async () => {
    const s = await serve(runs, '--port', '0', '--host', '0.0.0.0');
    children.push(s.child);
    assert.match(s.stderr, /^warning: listening on 0\.0\.0\.0: anyone who can reach this port can read these runs$/m);
    assert.match(s.stdout, /at http:\/\/0\.0\.0\.0:\d+\//);
    assert.equal(await stop(s.child), 0);
  });

  test('a missing folder, a bad port and an unknown flag are refused with one line', async () => {
    const cases: [string[], number, RegExp][] = [
      [[join(runs, 'nope')], 1, /nope: no such directory — give folders holding run directories/],
      [[runs, '--port', '99999'], 2, /--port: expected an integer ≥ 0 and ≤ 65535, got "99999"/],
      [[runs, '--prot', '1'], 2, /Unknown option '--prot' — did you mean --port\?/],
    ];
    for (const [args, code, message] of cases) {
      const r = await convts('serve', ...args);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    }
  });
});
