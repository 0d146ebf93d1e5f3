import type { RunRow } from '../../src/serve/api-types.js';
import { lineChart, palette, type Series } from './chart.js';
import { duration, h, pct } from './dom.js';
import { follow, smooth, speed, stepsPerEpoch } from './metrics.js';

// The ticked runs overlaid: training loss per step (smoothed as TensorBoard does), accuracy per
// epoch (test solid, train dashed) and the learning rate; runs that are training update live.

export function curvesView(rows: RunRow[]): { el: HTMLElement; stop: () => void } {
  let weight = 0.6;
  const loss = lineChart({ title: 'Training loss', xLabel: 'step', yLabel: 'loss', logToggle: true });
  const acc = lineChart({
    title: 'Accuracy',
    xLabel: 'epoch',
    yLabel: 'accuracy',
    format: (v) => pct(v, 1),
    xMin: 0,
    share: true,
  });
  const lr = lineChart({ title: 'Learning rate', xLabel: 'step', yLabel: 'lr', logToggle: true });
  const live = h('p', { class: 'live', 'aria-live': 'polite' });
  const slider = h('input', { type: 'range', min: 0, max: 0.99, step: 0.01, value: weight, 'aria-label': 'smoothing' });
  const shown = h('output', {}, weight.toFixed(2));
  slider.addEventListener('input', () => {
    weight = Number(slider.value);
    shown.textContent = weight.toFixed(2);
    draw();
  });
  const followed = rows.map((r) => follow(r.id, () => draw()));
  const color = (i: number) => palette[i % palette.length];

  function draw(): void {
    const lossS: Series[] = [];
    const accS: Series[] = [];
    const lrS: Series[] = [];
    const notes: string[] = [];
    followed.forEach(({ metrics: m }, i) => {
      const r = rows[i];
      const c = color(i);
      const spe = stepsPerEpoch(m, r.trainSize, num(r.hyper.batchSize)) ?? 1;
      // Old runs have no step records: their epoch means stand at each epoch's last step.
      const pts = m.steps.length
        ? m.steps.map((s) => ({ x: s.step, loss: s.loss, lr: s.lr }))
        : m.epochs.map((e) => ({ x: e.epoch * spe, loss: e.trainLoss, lr: e.lr ?? null }));
      const ys = pts.map((p) => p.loss);
      lossS.push({ label: `${r.id} (raw)`, color: c, x: pts.map((p) => p.x), y: ys, faint: true });
      lossS.push({ label: r.id, color: c, x: pts.map((p) => p.x), y: smooth(ys, weight) });
      lrS.push({ label: r.id, color: c, x: pts.map((p) => p.x), y: pts.map((p) => p.lr) });
      const ex = m.epochs.map((e) => e.epoch);
      accS.push({ label: `${r.id} test`, color: c, x: ex, y: m.epochs.map((e) => e.testAccuracy) });
      if (m.epochs.some((e) => e.testSplitAccuracy !== undefined))
        accS.push({
          label: `${r.id} test split`,
          color: c,
          x: ex,
          y: m.epochs.map((e) => e.testSplitAccuracy ?? null),
          faint: true,
        });
      // Training accuracy as it went, step by step (smoothed like the loss), once an epoch's length is known.
      const known = stepsPerEpoch(m, r.trainSize, num(r.hyper.batchSize));
      const train =
        m.steps.length && known
          ? {
              x: m.steps.map((s) => s.step / known),
              y: smooth(
                m.steps.map((s) => s.accuracy),
                weight,
              ),
            }
          : { x: ex, y: m.epochs.map((e) => e.trainAccuracy) };
      accS.push({ label: `${r.id} train`, color: c, ...train, dash: true });
      if (m.status === 'running') {
        const sp = speed(m, r.epochsPlanned, num(r.hyper.batchSize), r.trainSize);
        if (sp)
          notes.push(
            `${r.id}: training, epoch ${m.steps[m.steps.length - 1].epoch}${r.epochsPlanned ? ` of ${r.epochsPlanned}` : ''}, ${Math.round(sp.imagesPerSecond).toLocaleString('en')} images/s, ETA ${duration(sp.eta)}`,
          );
        else notes.push(`${r.id}: training, waiting for its first record`);
      }
      if (m.damaged) notes.push(`${r.id}: damaged — ${m.damaged}`);
    });
    loss.update(lossS);
    acc.update(accS);
    lr.update(lrS);
    live.textContent = notes.join(' · ');
  }
  draw();
  const el = h(
    'div',
    { class: 'curves' },
    live,
    h('label', { class: 'smoothing' }, 'smoothing ', slider, ' ', shown),
    h('div', { class: 'charts' }, loss.el, acc.el, lr.el),
  );
  return { el, stop: () => followed.forEach((f) => f.stop()) };
}

const num = (v: unknown) => (typeof v === 'number' ? v : null);
