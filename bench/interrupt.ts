// Interruption at the command line. kill -9 at random moments of `convts train` (some aimed at the
// end, where the final files are written): afterwards no temporary or truncated file may be left,
// every JSON file must parse and every model.safetensors must load in `convts eval`. Ctrl-C at
// random moments, then `convts train --resume`: the final model must be byte-identical to an
// uninterrupted run's.
// Flags: --kills N [20], --resumes N [5], --threads T [1], --data-dir DIR. Exit 1 on any failure.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from '../src/tensor/rng.js';

const mainJs = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    resumes: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
    'data-dir': { type: 'string', default: join(repo, '../shared/datasets') },
  },
});
const dataDir = values['data-dir']!;
const env = { ...process.env, CONVTS_THREADS: values.threads, CONVTS_OFFLINE: '1' };
const train = (out: string) => [
  'train',
  '--model',
  'seed-mnist',
  '--dataset',
  'mnist',
  '--data-dir',
  dataDir,
  '--train-limit',
  '1024',
  '--test-limit',
  '256',
  '--epochs',
  '3',
  '--batch-size',
  '32',
  '--seed',
  '7',
  '--out',
  out,
];
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/**
 * Runs convts; with `signal`, sends it `after` ms from the start (or, with `fromTraining`, from the
 * line that says training starts). Resolves with the exit code, stderr, the run's time and the time
 * its training took (from that line to the end).
 */
function run(args: string[], signal?: { name: NodeJS.Signals; after: number; fromLine?: RegExp }) {
  return new Promise<{ code: number | null; signal: string | null; stderr: string; ms: number; trainMs: number }>(
    (done) => {
      const started = Date.now();
      let training = 0;
      const child = spawn(process.execPath, [mainJs, ...args], { env });
      let stderr = '';
      let t: NodeJS.Timeout | null = null;
      const send = () => {
        t = setTimeout(() => child.kill(signal!.name), signal!.after);
      };
      let sent = false;
      child.stderr.on('data', (b) => {
        stderr += b;
        if (!training && /^(resuming at .*: )?training /m.test(stderr)) training = Date.now();
        if (signal?.fromLine && !sent && signal.fromLine.test(stderr)) {
          sent = true;
          send();
        }
      });
      child.stdout.resume();
      if (signal && !signal.fromLine) send();
      child.on('close', (code, sig) => {
        if (t) clearTimeout(t);
        const end = Date.now();
        done({ code, signal: sig, stderr, ms: end - started, trainMs: training ? end - training : 0 });
      });
    },
  );
}

/** What a killed run left that it must not: temporary files, JSON that does not parse, a model that does not load. */
function damageLeft(out: string): string[] {
  if (!existsSync(out)) return [];
  const bad: string[] = [];
  for (const f of readdirSync(out)) {
    const p = join(out, f);
    if (/\.tmp-/.test(f)) bad.push(`temporary file ${f}`);
    if (f.endsWith('.json')) {
      try {
        JSON.parse(readFileSync(p, 'utf8'));
      } catch {
        bad.push(`${f} does not parse`);
      }
    }
    if (f === 'metrics.jsonl')
      for (const [i, l] of readFileSync(p, 'utf8').split('\n').filter(Boolean).entries()) {
        try {
          JSON.parse(l);
        } catch {
          bad.push(`metrics.jsonl line ${i + 1} does not parse`);
        }
      }
  }
  if (existsSync(join(out, 'model.safetensors'))) {
    const r = spawnSync(process.execPath, [mainJs, 'eval', out, '--data-dir', dataDir, '--test-limit', '64'], {
      env,
      encoding: 'utf8',
    });
    if (r.status !== 0) bad.push(`convts eval: exit ${r.status}: ${r.stderr.trim().split('\n')[0]}`);
  }
  return bad;
}

async function main(): Promise<boolean> {
  const root = mkdtempSync(join(tmpdir(), 'convts-interrupt-'));
  const rng = new Rng(11);
  let ok = true;
  try {
    const ref = await run(train(join(root, 'ref')));
    if (ref.code !== 0) throw new Error(`the uninterrupted run failed: ${ref.stderr}`);
    const refHash = sha(join(root, 'ref', 'model.safetensors'));
    process.stdout.write(
      `uninterrupted run: ${(ref.ms / 1000).toFixed(1)} s (training ${(ref.trainMs / 1000).toFixed(1)} s), model ${refHash.slice(0, 12)}\n`,
    );

    // kill -9: a third of the trials in the last 15% of the run, where the final files are written.
    const kills = Number(values.kills);
    let lateKills = 0;
    let finishedFirst = 0;
    const found: string[] = [];
    for (let i = 0; i < kills; i++) {
      const out = join(root, `k${i}`);
      const late = i % 3 === 2;
      const after = Math.round(late ? ref.ms * (0.85 + 0.2 * rng.uniform()) : ref.ms * rng.uniform());
      const r = await run(train(out), { name: 'SIGKILL', after });
      if (r.signal !== 'SIGKILL') finishedFirst++;
      else if (late) lateKills++;
      const bad = damageLeft(out);
      if (bad.length) found.push(`kill at ${after} ms: ${bad.join('; ')}`);
      rmSync(out, { recursive: true, force: true });
    }
    ok &&= found.length === 0;
    process.stdout.write(
      `kill -9: ${kills} trials (${lateKills} killed in the last 15%, ${finishedFirst} finished before the signal): ` +
        `${found.length} left a temporary, truncated or unloadable file\n`,
    );
    for (const f of found) process.stdout.write(`  ${f}\n`);

    // Ctrl-C during training, then --resume: the same model as the uninterrupted run, byte for byte.
    const resumes = Number(values.resumes);
    let identical = 0;
    let stopped = 0;
    for (let i = 0; i < resumes; i++) {
      const out = join(root, `r${i}`);
      // After epoch 1 or 2 has ended (of 3), somewhere in the next: the speed varies too much on a
      // shared machine to aim by the clock alone.
      const epoch = 1 + rng.int(2);
      const after = rng.int(150); // an epoch takes 0.4 s on a quiet machine
      const when = `${after} ms after epoch ${epoch}`;
      const r = await run(train(out), { name: 'SIGINT', after, fromLine: new RegExp(`^epoch ${epoch}/3 `, 'm') });
      if (r.code !== 130 || !existsSync(join(out, 'checkpoint.safetensors'))) {
        const last = r.stderr.trim().split('\n').pop();
        process.stdout.write(`  Ctrl-C ${when}: exit ${r.code}, no checkpoint (${last}) — not counted\n`);
        rmSync(out, { recursive: true, force: true });
        continue;
      }
      stopped++;
      const again = await run(['train', '--resume', out, '--data-dir', dataDir]);
      const model = join(out, 'model.safetensors');
      if (again.code === 0 && existsSync(model) && sha(model) === refHash) identical++;
      else process.stdout.write(`  Ctrl-C ${when}, resumed: exit ${again.code}, the model differs\n`);
      rmSync(out, { recursive: true, force: true });
    }
    ok &&= identical === stopped;
    process.stdout.write(
      `Ctrl-C + --resume: ${resumes} trials, ${stopped} stopped with a checkpoint: ${identical} of them byte-identical to the uninterrupted run after --resume\n`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return ok;
}

process.exitCode = (await main()) ? 0 : 1;
