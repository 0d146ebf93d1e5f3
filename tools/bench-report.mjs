// Turns the JSON lines of `npm run bench -- --compare torch --json` (and of `--memory --json`) into the
// Markdown tables of BENCHMARKS.md: every measurement (median, ± half the slices' range), the speed
// goals with their ratios, and the same race counted in CPU time; with lines of `--backend browser`
// (and `--compare convnetjs`), the goals of training in the browser.
// Usage: node tools/bench-report.mjs bench.jsonl [memory.jsonl]
import { readFileSync } from 'node:fs';

const rows = process.argv.slice(2).flatMap((f) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l)),
);
const speed = rows.filter((r) => r.mode === 'train' || r.mode === 'infer');
const isTorch = (r) => r.backend.startsWith('pytorch');
const isOurs = (r) => !isTorch(r) && r.backend !== 'convnetjs';
const label = (r) =>
  `${isTorch(r) ? `PyTorch${r.layout === 'channels-last' ? ' NHWC' : ''}` : r.backend} ×${r.threads}${r.spins === undefined ? '' : ` spin ${r.spins}`}`;
const columns = [...new Set(speed.map(label))];
const configs = [...new Set(speed.map((r) => `${r.net}|${r.mode}|${r.batch}`))].map((c) => c.split('|'));
const fmt = (x) => (x === undefined ? '–' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
const spread = (r) =>
  r?.maxImagesPerSecond === undefined
    ? ''
    : ` ±${((50 * (r.maxImagesPerSecond - r.minImagesPerSecond)) / r.imagesPerSecond).toFixed(0)}%`;
const ratio = (x) => (x === undefined || !Number.isFinite(x) ? '–' : `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`);
const of = (net, mode, batch) => speed.filter((r) => r.net === net && r.mode === mode && r.batch === Number(batch));
const top = (list, key = 'imagesPerSecond') => list.sort((a, b) => b[key] - a[key])[0];
const out = [];

out.push(
  'Images per second (median of the slices, ± half the range from the slowest to the fastest); ×N = threads.',
  '',
);
out.push(`| net | mode | batch | ${columns.join(' | ')} | best convts ÷ best PyTorch |`);
out.push(`|${' --- |'.repeat(columns.length + 4)}`);
for (const [net, mode, batch] of configs) {
  const rs = of(net, mode, batch);
  const cells = columns.map((c) => {
    const r = rs.find((x) => label(x) === c);
    return `${fmt(r?.imagesPerSecond)}${spread(r)}`;
  });
  const us = top(rs.filter(isOurs)),
    them = top(rs.filter(isTorch));
  out.push(
    `| ${net} | ${mode} | ${batch} | ${cells.join(' | ')} | ${us && them ? `${ratio(us.imagesPerSecond / them.imagesPerSecond)} (${label(us)} vs ${label(them)})` : '–'} |`,
  );
}

const CONVNETJS = 180; // images/s, ConvNetJS training seed-mnist on a 2-core machine (the speed goal's figure)
out.push(
  '',
  "| goal | target | best convts ÷ PyTorch ×2 (the goal's setting) | best convts ÷ best PyTorch | |",
  '| --- | --- | --- | --- | --- |',
);
const goal = (what, need, mode, batch, pred = () => true, nets = ['seed-mnist', 'seed-cifar']) => {
  const cells = [[], []];
  let ok = true;
  for (const n of nets) {
    const rs = of(n, mode, batch);
    const us = top(rs.filter((r) => isOurs(r) && pred(r)));
    const t2 = top(rs.filter((r) => isTorch(r) && r.threads === 2)),
      best = top(rs.filter(isTorch));
    const r2 = us && t2 ? us.imagesPerSecond / t2.imagesPerSecond : undefined;
    const rb = us && best ? us.imagesPerSecond / best.imagesPerSecond : undefined;
    cells[0].push(`${n} ${ratio(r2)}`);
    cells[1].push(`${n} ${ratio(rb)}`);
    ok &&= rb !== undefined && rb >= need;
  }
  out.push(`| ${what} | ≥ ${need}× | ${cells[0].join(', ')} | ${cells[1].join(', ')} | ${ok ? 'met' : 'missed'} |`);
};
goal('training, batch 1', 3, 'train', 1);
goal('training, batch 32', 1, 'train', 32);
goal('training, batch 128', 1, 'train', 128);
goal('inference, batch 128', 1, 'infer', 128);
goal('WebAssembly backend alone, training, batch 32', 0.5, 'train', 32, (r) => r.backend === 'wasm');
const w = top(of('seed-mnist', 'train', 32).filter((r) => r.backend === 'wasm'));
out.push(
  `| WebAssembly alone, training seed-mnist batch 32, vs ConvNetJS (${CONVNETJS} images/s, the goal's figure) | ≥ 50× | ${w ? `${fmt(w.imagesPerSecond)} images/s = ${ratio(w.imagesPerSecond / CONVNETJS)}` : '–'} | | ${w && w.imagesPerSecond / CONVNETJS >= 50 ? 'met' : 'missed'} |`,
);
for (const m of rows.filter((r) => r.mode === 'memory')) {
  out.push(
    `| memory growth, epochs 2→${m.epochs} (${m.net}, batch ${m.batch}, ${m.backend} ×${m.threads}) | none | heap ${(m.heapGrowthBytes / 1024).toFixed(0)} KiB, resident ${(m.rssGrowthBytes / 1024).toFixed(0)} KiB | | |`,
  );
}

out.push('', 'One thread each, in images per second of CPU time (what a core does when it is not shared):', '');
out.push(
  '| net | mode | batch | native ×1 | wasm ×1 | PyTorch ×1 | native ÷ PyTorch | wasm ÷ PyTorch |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
);
for (const [net, mode, batch] of configs) {
  const rs = of(net, mode, batch).filter((r) => r.threads === 1);
  const get = (pred) => rs.find(pred)?.imagesPerCpuSecond;
  const n = get((r) => r.backend === 'native'),
    wa = get((r) => r.backend === 'wasm'),
    t = get(isTorch);
  out.push(`| ${net} | ${mode} | ${batch} | ${fmt(n)} | ${fmt(wa)} | ${fmt(t)} | ${ratio(n / t)} | ${ratio(wa / t)} |`);
}

// Training in the browser: convts in Chromium against ConvNetJS in the same page and native convts in
// the same run; WebAssembly in Node on one thread against the figure the goal started from.
const browser = speed.filter((r) => r.backend === 'browser');
if (browser.length) {
  const WASM_BEFORE = 2900; // images/s, seed-mnist training batch 32, WebAssembly in Node, one thread, before threads
  const pick = (net, pred) => top(of(net, 'train', 32).filter(pred));
  const cell = (a, b) =>
    a && b
      ? `${fmt(a.imagesPerSecond)} vs ${fmt(b.imagesPerSecond)} (${label(b)}) = ${ratio(a.imagesPerSecond / b.imagesPerSecond)}`
      : '–';
  const met = (a, b, need) => (a && b ? (a.imagesPerSecond / b.imagesPerSecond >= need ? 'met' : 'missed') : '–');
  out.push('', '| goal (training, batch 32) | target | measured, images/s | |', '| --- | --- | --- | --- |');
  for (const net of ['seed-mnist', 'seed-cifar']) {
    const b = pick(net, (r) => r.backend === 'browser');
    const cj = pick(net, (r) => r.backend === 'convnetjs');
    const nat = pick(net, (r) => r.backend === 'native');
    const where = b ? `${net} in Chromium, browser ×${b.threads}` : net;
    if (net === 'seed-mnist')
      out.push(`| ${where} vs ConvNetJS in the same page | ≥ 50× | ${cell(b, cj)} | ${met(b, cj, 50)} |`);
    out.push(`| ${where} vs native convts | ≥ 0.5× | ${cell(b, nat)} | ${met(b, nat, 0.5)} |`);
  }
  const w = pick('seed-mnist', (r) => r.backend === 'wasm' && r.threads === 1);
  out.push(
    `| WebAssembly in Node, one thread, seed-mnist | ≥ 1.5 × ${fmt(WASM_BEFORE)} | ${w ? `${fmt(w.imagesPerSecond)} = ${ratio(w.imagesPerSecond / WASM_BEFORE)}` : '–'} | ${w ? (w.imagesPerSecond >= 1.5 * WASM_BEFORE ? 'met' : 'missed') : '–'} |`,
  );
  // On a shared machine the wall clock is mostly other programs': the same runs per CPU-second (Chromium's
  // renderer for the page, this process for Node), which is what the cores give when they are not shared.
  const perCpu = (r) => (r?.imagesPerCpuSecond ? r.imagesPerCpuSecond : undefined);
  out.push(
    '',
    'The same, in images per CPU-second (the renderer process for the page, all threads counted):',
    '',
    '| net | browser | native ×1 | native ×2 | wasm ×1 | browser ÷ native ×2 |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const net of ['seed-mnist', 'seed-cifar']) {
    const b = pick(net, (r) => r.backend === 'browser');
    const n1 = pick(net, (r) => r.backend === 'native' && r.threads === 1);
    const n2 = pick(net, (r) => r.backend === 'native' && r.threads > 1);
    const w1 = pick(net, (r) => r.backend === 'wasm' && r.threads === 1);
    out.push(
      `| ${net} | ${b ? `${fmt(perCpu(b))} (×${b.threads})` : '–'} | ${fmt(perCpu(n1))} | ${fmt(perCpu(n2))} | ${fmt(perCpu(w1))} | ${perCpu(b) && perCpu(n2) ? ratio(perCpu(b) / perCpu(n2)) : '–'} |`,
    );
  }
}
console.log(out.join('\n'));
