import { Redis, type RedisOptions } from 'ioredis';
import { ConvtsError, UsageError } from '../errors.js';

/** Where the trial queue lives: one Redis server (and database) shared by a sweep's owner and its workers. */
export interface QueueTarget {
  /** The URL as the user gave it, with any password replaced by "***": safe to print. */
  shown: string;
  options: RedisOptions;
}

/** The name of the BullMQ queue every convts sweep and worker uses; --queue's database number separates groups. */
export const queueName = 'convts-trials';

/**
 * Parses redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (rediss:// for TLS). The password never
 * appears in `shown` nor in any error message.
 */
export function parseQueueUrl(url: string): QueueTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--queue: expected redis://HOST:PORT[/DB], got "${redactUrl(url)}"`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new UsageError(`--queue: expected a redis:// or rediss:// URL, got "${redactUrl(url)}"`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw new UsageError(`--queue: the database after the port is a number (redis://HOST:PORT/0), got "/${db}"`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return {
    shown: redactUrl(url),
    options: {
      host,
      port: u.port ? Number(u.port) : 6379,
      db: db ? Number(db) : 0,
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  };
}

/** The URL with its password (if any) replaced by "***". */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^/@]*?:)[^/@]*@/i, '$1***@');
}

/**
 * Checks that the Redis server answers, before BullMQ (which would retry forever) gets it: a
 * server that is not running, refuses the password or is not Redis is one clear error.
 */
export async function checkRedis(t: QueueTarget): Promise<void> {
  const { host, port } = t.options;
  const r = new Redis({
    ...t.options,
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The socket's own error (ECONNREFUSED, …) says more than connect()'s "Connection is closed".
  let first: Error | null = null;
  r.on('error', (e: Error) => {
    first ??= e;
  });
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    throw new ConvtsError(redisProblem((first ?? e) as Error & { code?: string }, host!, port!));
  } finally {
    r.disconnect();
  }
}

function redisProblem(e: Error & { code?: string }, host: string, port: number): string {
  const at = `Redis at ${host}:${port}`;
  if (e.code === 'ECONNREFUSED')
    return `${at} is not running (connection refused) — start it there with "redis-server --port ${port}" (Debian: apt-get install redis-server), or give --queue the URL of a running one`;
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
    return `${at}: no such host — check the host name in --queue redis://HOST:PORT`;
  if (/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(e.message))
    return `${at} refused the login (${e.message.split(' ')[0]}) — give the password as --queue redis://:PASSWORD@${host}:${port}`;
  return `${at} does not answer (${e.message}) — check that it is a Redis server reachable from here`;
}
