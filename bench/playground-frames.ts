// Why the playground's main thread misses frames while it trains (a benchmark, not a test). Trains
// seed-mnist in the page's worker for a while and reports, per run:
//  - the gaps between animation frames, from a requestAnimationFrame loop of this script's own (the
//    page's own maxFrameGap is read too): the longest, the 99th percentile, how many exceed 100 ms;
//  - the main thread's long tasks (PerformanceObserver "longtask", > 50 ms) and their total time, and
//    from a Chromium trace each task's wall and CPU time: a long task that used little CPU waited;
//  - for each thread of Chromium's renderer, from Linux's /proc/PID/task/TID/schedstat, the CPU time it
//    used and the time it spent runnable but waiting for a core: a frame missed by a main thread
//    that waited for a core is the scheduler's doing, one missed by long tasks is the page's.
// Runs `runs` rounds, alternating the thread counts given (e.g. 2,1), in the same Chromium.
//   node dist/bench/playground-frames.js [data dir] [seconds] [threads,…] [runs]
import { readdirSync, readFileSync } from 'node:fs';
import { resolveDataDir } from '../src/data/catalog.js';
import { type MainTask, traceMainThread } from '../test/helpers/browser.js';
import { loadLine } from './peak.js';
import { openPlayground } from './playground-page.js';
import { rendererPids } from './renderer-proc.js';

const dataDir = resolveDataDir(process.argv[2]);
const seconds = Number(process.argv[3] ?? 20);
const threadCounts = (process.argv[4] ?? '2').split(',').map(Number);
const runs = Number(process.argv[5] ?? threadCounts.length);
const profile = process.env.PROFILE === '1'; // also a JavaScript CPU profile of the main thread

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples?: number[];
  timeDeltas?: number[];
}
/** Self time by function of a CDP CPU profile, the largest first. */
function selfTimes(p: CpuProfile): [string, number][] {
  const name = new Map(
    p.nodes.map((n) => [
      n.id,
      `${n.callFrame.functionName || '(anon)'}:${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`,
    ]),
  );
  const ms = new Map<string, number>();
  (p.samples ?? []).forEach((id, i) => {
    const k = name.get(id) ?? '?';
    ms.set(k, (ms.get(k) ?? 0) + (p.timeDeltas?.[i] ?? 0) / 1000);
  });
  return [...ms].sort((a, b) => b[1] - a[1]).slice(0, 12);
}

/** CPU and run-queue nanoseconds of each thread of the processes, by thread name. */
function schedByName(pids: number[]): Map<string, { cpu: number; wait: number }> {
  const out = new Map<string, { cpu: number; wait: number }>();
  for (const pid of pids) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        const [cpu, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
        const key = `${name}#${tid}`;
        out.set(key, { cpu, wait });
      } catch {
        // the thread ended
      }
    }
  }
  return out;
}

// Our own frame and long-task records, started before the page's scripts.
const { browser, page, state, until, close } = await openPlayground(dataDir, (page) =>
  page.addInitScript(() => {
    const w = globalThis as unknown as { frames: { gaps: number[]; long: number[]; on: boolean } };
    w.frames = { gaps: [], long: [], on: false };
    let last = 0;
    const tick = (t: number) => {
      if (w.frames.on && last) w.frames.gaps.push(t - last);
      last = t;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    new PerformanceObserver((l) => {
      if (w.frames.on) for (const e of l.getEntries()) w.frames.long.push(e.duration);
    }).observe({ type: 'longtask', buffered: false });
  }),
);
try {
  console.log(`playground frames, seed-mnist batch 32, ${seconds} s a run; Chromium ${browser.version()}`);
  for (let r = 0; r < runs; r++) {
    const threads = threadCounts[r % threadCounts.length];
    if ((await state()).threads !== threads) {
      await page.fill('#threads', String(threads));
      await page.dispatchEvent('#threads', 'change');
      await until(`s.ready && s.threads === ${threads}`, 30_000);
      await page.click('#load-server');
      await until('s.data !== null', 60_000);
    }
    for (const [id, v] of [
      ['#batch', '32'],
      ['#train-limit', '20000'],
      ['#test-limit', '1000'],
      ['#epochs', '50'],
      ['#eval-every', '200'],
    ])
      await page.fill(id, v);
    const pids = rendererPids();
    // Recorded from the click on: starting the training is part of training.
    await page.evaluate(() => {
      const f = (globalThis as unknown as { frames: { gaps: number[]; long: number[]; on: boolean } }).frames;
      Object.assign(f, { gaps: [], long: [], on: true });
    });
    const cdp = profile ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
      await cdp.send('Profiler.start');
    }
    const before = schedByName(pids);
    const t0 = performance.now();
    // Everything measured inside the trace: writing the trace out takes seconds more. The page's step
    // count starts again at Start, so the steps it reports are this run's.
    let inside = { after: before, s1: await state(), wall: 0, f: { gaps: [] as number[], long: [] as number[] } };
    const trace = await traceMainThread(browser, page, async () => {
      await page.click('#start');
      await page.waitForTimeout(seconds * 1000);
      inside = {
        after: schedByName(pids),
        s1: await state(),
        wall: (performance.now() - t0) / 1000,
        f: await page.evaluate(() => {
          const x = (globalThis as unknown as { frames: { gaps: number[]; long: number[]; on: boolean } }).frames;
          x.on = false;
          return { gaps: x.gaps, long: x.long };
        }),
      };
    });
    const { after, s1, wall, f } = inside;
    const top = cdp ? selfTimes((await cdp.send('Profiler.stop')).profile) : [];
    await page.click('#stop');
    await until("s.phase === 'stopped' || s.phase === 'done'");
    const gaps = [...f.gaps].sort((a, b) => a - b);
    const p = (q: number) => gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))] ?? 0;
    const worst = f.gaps
      .map((g, i) => ({ g, at: f.gaps.slice(0, i).reduce((a, b) => a + b, 0) }))
      .sort((a, b) => b.g - a.g)
      .slice(0, 5);
    console.log(
      `\nrun ${r + 1}: ${s1.threads} thread(s), ${s1.kernels}; ${loadLine()}; ${((s1.steps * 32) / wall).toFixed(0)} images/s`,
    );
    console.log(
      `  frames ${gaps.length} in ${wall.toFixed(1)} s; gap median ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(0)} ms, longest ${p(1).toFixed(0)} ms, ${gaps.filter((g) => g > 100).length} over 100 ms; page's maxFrameGap ${Math.round(s1.maxFrameGap)} ms`,
    );
    console.log(
      `  longest gaps (ms, at ms after the click): ${worst.map((w) => `${w.g.toFixed(0)} @${w.at.toFixed(0)}`).join(', ')}`,
    );
    console.log(
      `  long tasks on the main thread: ${f.long.length}, ${f.long.reduce((a, b) => a + b, 0).toFixed(0)} ms in all, longest ${Math.max(0, ...f.long).toFixed(0)} ms`,
    );
    const byWall = [...trace.tasks].sort((a, b) => b.wall - a.wall);
    const byCpu = [...trace.tasks].sort((a, b) => b.cpu - a.cpu);
    const fmt = (t: MainTask | undefined) => (t ? `${t.wall.toFixed(0)} ms wall / ${t.cpu.toFixed(0)} ms CPU` : '–');
    console.log(
      `  main-thread tasks (trace): ${trace.tasks.length}; longest ${fmt(byWall[0])}; busiest ${fmt(byCpu[0])}; ${byWall.filter((t) => t.wall > 50).length} over 50 ms wall, ${byCpu.filter((t) => t.cpu > 50).length} over 50 ms CPU`,
    );
    if (top.length)
      console.log(`  main thread's JavaScript (self ms): ${top.map(([n, ms]) => `${n} ${ms.toFixed(0)}`).join(', ')}`);
    const rows = [...after]
      .map(([k, a]) => {
        const b = before.get(k) ?? { cpu: 0, wait: 0 };
        return { k, cpu: (a.cpu - b.cpu) / 1e6, wait: (a.wait - b.wait) / 1e6 };
      })
      .filter((x) => x.cpu > 20 || x.wait > 20)
      .sort((a, b) => b.cpu - a.cpu);
    for (const x of rows)
      console.log(
        `  ${x.k.padEnd(28)} cpu ${(x.cpu / wall / 10).toFixed(1).padStart(5)}%  waiting for a core ${(x.wait / wall / 10).toFixed(1).padStart(5)}%`,
      );
  }
} finally {
  await close();
}
