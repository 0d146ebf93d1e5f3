import { blues, Canvas, fit, ink, textWidth, white } from './canvas.js';

const S = 2;

/**
 * The confusion matrix as a heat map (rows = true class, columns = predicted), each cell
 * labelled with its count and coloured by the square root of its share of the row, so that
 * errors of a few percent still show next to a diagonal of 90 %+.
 */
export function confusionPicture(m: readonly (readonly number[])[], classNames: readonly string[]): Canvas {
  const k = m.length;
  const names = Array.from({ length: k }, (_, i) => classNames[i] ?? String(i));
  const maxCount = Math.max(1, ...m.flat());
  const cell = Math.max(44, textWidth(String(maxCount), S) + 12);
  const labelW = Math.min(Math.max(...names.map((n) => textWidth(n, S))), 10 * 12 * S) + 12;
  // Column labels run across when every name fits its cell, else they are turned upright.
  const across = names.every((n) => textWidth(n, S) <= cell - 6);
  const colH = across ? 7 * S + 12 : labelW;
  const left = 7 * S + 16 + labelW;
  const top = 12;
  const w = left + k * cell + 20;
  const h = top + k * cell + colH + 7 * S + 20;
  const cv = new Canvas(Math.max(w, 260), h);
  cv.text('predicted', left + (k * cell) / 2, top + k * cell + colH + 8, { scale: S, align: 'center' });
  cv.text('true', 6, top + (k * cell) / 2, { scale: S, align: 'center', vertical: true });
  for (let i = 0; i < k; i++) {
    const rowSum = m[i].reduce((a, b) => a + b, 0);
    const label = fit(names[i], labelW - 12, S);
    cv.text(label, left - 8, top + i * cell + (cell - 7 * S) / 2, { scale: S, align: 'right' });
    for (let j = 0; j < k; j++) {
      const share = rowSum ? Math.sqrt(m[i][j] / rowSum) : 0;
      const x = left + j * cell;
      const y = top + i * cell;
      cv.fillRect(x, y, cell, cell, blues(share));
      if (m[i][j] > 0) {
        cv.text(String(m[i][j]), x + cell / 2, y + (cell - 7 * S) / 2, {
          scale: S,
          align: 'center',
          color: share > 0.5 ? white : ink,
        });
      }
    }
  }
  for (let j = 0; j < k; j++) {
    const label = fit(names[j], labelW - 12, S);
    const x = left + j * cell;
    if (across) cv.text(label, x + cell / 2, top + k * cell + 8, { scale: S, align: 'center' });
    else cv.text(label, x + (cell - 7 * S) / 2, top + k * cell + 8 + textWidth(label, S), { scale: S, vertical: true });
  }
  cv.strokeRect(left - 1, top - 1, k * cell + 2, k * cell + 2, ink);
  return cv;
}
