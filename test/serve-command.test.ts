import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { childEnv, convts, mainJs } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

// The `convts serve` command itself: the URL it prints, the address it binds, the warning for
// any other address, and its usage errors.

/** Starts `convts serve <args>` and resolves once it has printed its URL (or exited); its output keeps growing. */
function serve(...args: string[]): Promise<{ child: ChildProcess; stdout: string; stderr: string }> {
  return serveWith({}, ...args);
}

/** serve() with `env` added to the child's environment. */
function serveWith(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ child: ChildProcess; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs, 'serve', ...args], { env: { ...childEnv(), ...env } });
    const out = { child, stdout: '', stderr: '' };
    child.stdout!.on('data', (b) => {
      out.stdout += b;
      if (/playground: /.test(out.stdout)) resolve(out);
    });
    child.stderr!.on('data', (b) => {
      out.stderr += b;
    });
    child.on('exit', (code) => reject(new Error(`convts serve exited ${code}: ${out.stderr}`)));
  });
}

/** Resolves once `check` is true, polling every 50 ms; rejects after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  for (const t0 = Date.now(); !check(); await new Promise((r) => setTimeout(r, 50)))
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
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

  test('--open hands the URL to the platform opener; a missing or failing opener leaves a note and the server serving', {
    skip: process.platform === 'linux' ? false : 'the fake opener is xdg-open, the Linux one',
  }, async () => {
    const base = join(runs, '..');
    const bin = join(base, 'bin');
    const opened = join(base, 'opened.txt');
    mkdirSync(bin);
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`, { mode: 0o755 });
    const s = await serveWith({ PATH: bin }, runs, '--port', '0', '--open');
    children.push(s.child);
    const url = /at (http:\S+)/.exec(s.stdout)![1];
    await until(() => existsSync(opened) && readFileSync(opened, 'utf8') !== '', 10_000, 'the opener ran');
    assert.equal(readFileSync(opened, 'utf8'), url);
    assert.equal(await stop(s.child), 0);
    assert.equal(s.stderr, '');
    // no opener on the PATH, then one that fails (xdg-open on a machine without a desktop)
    const failing = join(base, 'bin-failing');
    mkdirSync(failing);
    writeFileSync(join(failing, 'xdg-open'), '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    for (const [path, why] of [
      [join(base, 'nowhere'), /^--open: could not start xdg-open \(not on the PATH\?\); open http:\S+ yourself$/m],
      [failing, /^--open: xdg-open exited with code 3; open http:\S+ yourself$/m],
    ] as const) {
      const t = await serveWith({ PATH: path }, runs, '--port', '0', '--open');
      children.push(t.child);
      await until(() => why.test(t.stderr), 10_000, `${why} in ${JSON.stringify(t.stderr)}`);
      const r = await fetch(`${/at (http:\S+)/.exec(t.stdout)![1]}api/runs`);
      assert.equal(r.status, 200, 'still serving');
      assert.equal(await stop(t.child), 0);
    }
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
