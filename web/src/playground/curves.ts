import uPlot from 'uplot';

// Live per-step curves: the worker sends the steps about ten times a second, the page redraws at
// most four times a second, at an animation frame, so that drawing never delays a frame's input
// handling. Past `maxPoints` the oldest resolution is halved (neighbouring steps averaged), so a long
// run costs each redraw no more than a short one.

export interface LiveChart {
  add(x: number, ys: (number | null)[]): void;
  clear(): void;
}

const maxPoints = 2000;
const redrawMs = 250;

/** Averages neighbouring pairs of each column; a null beside a value keeps the value. */
function halve(cols: (number | null)[][]): void {
  for (const [c, col] of cols.entries()) {
    const out: (number | null)[] = [];
    for (let i = 0; i < col.length; i += 2) {
      const [a, b] = [col[i], i + 1 < col.length ? col[i + 1] : null];
      if (c === 0) out.push(b ?? a);
      else out.push(a === null ? b : b === null ? a : (a + b) / 2);
    }
    cols[c] = out;
  }
}

export function liveChart(parent: HTMLElement, title: string, labels: string[], colors: string[]): LiveChart {
  let cols: (number | null)[][] = [[], ...labels.map(() => [])];
  const plot = new uPlot(
    {
      title,
      width: Math.max(320, parent.clientWidth || 460),
      height: 220,
      scales: { x: { time: false } },
      series: [
        { label: 'step' },
        ...labels.map((label, i) => ({ label, stroke: colors[i], spanGaps: true, points: { show: i > 0 } })),
      ],
    },
    cols as uPlot.AlignedData,
    parent,
  );
  let pending = false;
  let drawn = 0;
  const draw = (t: number) => {
    if (t - drawn < redrawMs) return void requestAnimationFrame(draw);
    pending = false;
    drawn = t;
    plot.setData(cols as uPlot.AlignedData);
  };
  return {
    add(x, ys) {
      cols[0].push(x);
      ys.forEach((y, i) => cols[i + 1].push(y));
      if (cols[0].length > maxPoints) halve(cols);
      if (!pending) {
        pending = true;
        requestAnimationFrame(draw);
      }
    },
    clear() {
      cols = [[], ...labels.map(() => [])];
      plot.setData(cols as uPlot.AlignedData);
    },
  };
}
