import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { tempDir } from './tmp.js';

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Why the Redis tests cannot run here, or null when redis-server is installed. */
export function redisMissing(): string | null {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.error ? 'redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)' : null;
}

/**
 * A throwaway redis-server on a free 127.0.0.1 port: no persistence, its own temporary folder.
 * Resolves when it accepts connections.
 */
export async function startRedis(): Promise<{ port: number; url: (db: number) => string; stop: () => void }> {
  const port = await freePort();
  const dir = tempDir('convts-redis-');
  const server: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let text = '';
    server.stdout!.on('data', (b) => {
      text += b;
      if (/Ready to accept connections/.test(text)) resolve();
    });
    server.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${text}`)));
  });
  return { port, url: (db) => `redis://127.0.0.1:${port}/${db}`, stop: () => server.kill('SIGKILL') };
}
