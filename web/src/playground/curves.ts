import uPlot from 'uplot';

// Live per-step curves: the worker sends a point per step, the page redraws at most a few times a
// second so that drawing never competes with the page's input handling.

export interface LiveChart {
  add(x: number, ys: (number | null)[]): void;
  clear(): void;
}

export function liveChart(parent: HTMLElement, title: string, labels: string[], colors: string[]): LiveChart {
  const cols: (number | null)[][] = [[], ...labels.map(() => [])];
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
  const draw = () => {
    pending = false;
    plot.setData(cols as uPlot.AlignedData);
  };
  return {
    add(x, ys) {
      cols[0].push(x);
      ys.forEach((y, i) => cols[i + 1].push(y));
      if (!pending) {
        pending = true;
        setTimeout(draw, 250);
      }
    },
    clear() {
      for (const c of cols) c.length = 0;
      draw();
    },
  };
}
