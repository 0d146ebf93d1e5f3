// Small views of the playground page: the confusion matrix, the picture the model sees, downloads.

export function showConfusion(table: HTMLElement, names: string[], c: number[][]): void {
  const head = `<tr><th>true \\ predicted</th>${names.map((n) => `<th>${n}</th>`).join('')}</tr>`;
  const rows = c.map(
    (row, i) =>
      `<tr><th>${names[i]}</th>${row.map((v, j) => `<td style="background:${i === j ? '#e3f1e3' : v ? '#fbe9e9' : ''}">${v}</td>`).join('')}</tr>`,
  );
  table.innerHTML = head + rows.join('');
}

/** The picture the drawing becomes once prepared as convts predict prepares it: grey or colour (channel planes). */
export function showInput(canvas: HTMLCanvasElement, bytes: number[], [c, h, w]: number[]): void {
  if (bytes.length !== c * h * w || (c !== 1 && c !== 3)) return;
  Object.assign(canvas, { width: w, height: h });
  const g = canvas.getContext('2d') as CanvasRenderingContext2D;
  const img = g.createImageData(w, h);
  for (let i = 0; i < h * w; i++)
    img.data.set(
      c === 1 ? [bytes[i], bytes[i], bytes[i], 255] : [bytes[i], bytes[h * w + i], bytes[2 * h * w + i], 255],
      i * 4,
    );
  g.putImageData(img, 0, 0);
}

export function download(name: string, body: string | ArrayBuffer): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([body]));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
