import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../src/cli/train-settings.js';
import { parseQueueUrl, redactUrl } from '../src/queue/connection.js';
import { JobRefused, settingsVersion, validateJob } from '../src/queue/job.js';
import { statusLine } from '../src/queue/status.js';

const job = (config = resolveConfig({ dataset: 'mnist', lr: '0.1', filters: '4,6' })) => ({
  version: settingsVersion,
  sweep: 'abc',
  trial: 'lr-0.1',
  params: { lr: '0.1' },
  config: JSON.parse(JSON.stringify(config)),
  data: { dataset: config.dataset, files: [{ name: 'train-images-idx3-ubyte', sha256: 'a'.repeat(64) }] },
});

test('--queue URLs: host, port, database and password parsed; the password never shown', () => {
  const t = parseQueueUrl('redis://:s3cret@10.0.0.5:6380/2');
  assert.deepEqual(t.options, { host: '10.0.0.5', port: 6380, db: 2, password: 's3cret' });
  assert.equal(t.shown, 'redis://:***@10.0.0.5:6380/2');
  assert.equal(redactUrl('redis://user:pw@h:1/0'), 'redis://user:***@h:1/0');
  assert.equal(redactUrl('redis://h:1'), 'redis://h:1');
  assert.deepEqual(parseQueueUrl('redis://localhost').options, { host: 'localhost', port: 6379, db: 0 });
  assert.throws(
    () => parseQueueUrl('http://:pw@h:1'),
    (e: Error) => /redis:\/\//.test(e.message) && !/pw/.test(e.message),
  );
  assert.throws(() => parseQueueUrl('redis://h:1/x'), /database after the port is a number/);
});

test('a trial job is validated setting by setting; a newer version, unknown or bad settings are refused', () => {
  const ok = job();
  assert.equal(validateJob(ok, 'j').config.lr, 0.1);
  const refused = (raw: unknown, re: RegExp) =>
    assert.throws(
      () => validateJob(raw, 'j'),
      (e: Error) => e instanceof JobRefused && re.test(e.message),
    );
  refused({ ...ok, version: settingsVersion + 1 }, /newer convts \(settings version 2; this worker reads up to 1\)/);
  refused({ ...ok, config: { ...ok.config, shell: 'rm -rf /' } }, /unknown setting "shell"/);
  refused({ ...ok, config: { ...ok.config, lr: -1 } }, /setting "lr" has a value/);
  refused({ ...ok, config: { ...ok.config, optimizer: 'eval' } }, /setting "optimizer"/);
  refused({ ...ok, config: { ...ok.config, features: '/etc/passwd' } }, /setting "features"/);
  refused({ ...ok, config: { ...ok.config, spec: { layers: 'x' } } }, /setting "spec"/);
  const { seed: _, ...noSeed } = ok.config;
  refused({ ...ok, config: noSeed }, /setting "seed" is missing/);
  refused({ ...ok, trial: '../../etc' }, /trial name/);
  refused({ ...ok, data: { dataset: 'mnist', files: [{ name: 'x', sha256: 'nope' }] } }, /data set identity/);
  refused('rm -rf /', /not a convts trial/);
  // Every setting convts train resolves is one a job may carry (schedules, augmentation, init…).
  const c = resolveConfig({
    dataset: 'cifar-10',
    augment: 'default',
    schedule: 'step:2:0.5',
    init: 'normal:0.02',
    converge: '0.01:2',
    val: '100',
  });
  assert.equal(validateJob(job(c), 'j').config.dataset, 'cifar-10');
});

test('the owner progress line counts queued, running (worker, epoch), done and failed trials', () => {
  const line = statusLine(
    [
      { kind: 'queued' },
      { kind: 'running', worker: 'a#1', epoch: 2, epochs: 3 },
      { kind: 'done' },
      { kind: 'done', failed: true },
    ],
    (i) => `t${i}`,
    1,
  );
  assert.equal(line, '1 queued · 1 running (t1 on a#1 epoch 2/3) · 1 done · 1 failed · 1 worker(s)');
  assert.match(
    statusLine([{ kind: 'queued' }], () => 't', 0),
    /no worker is connected: start one with convts worker/,
  );
});
