// Small views of the playground page: the confusion matrix, the picture the model sees, downloads.

export function showConfusion(table: HTMLElement, names: string[], c: number[][]): void {
  const head = `<tr><th>true \\ predicted</th>${names.map((n) => `<th>${n}</th>`).join('')}</tr>`;
  const rows = c.map(
    (row, i) =>
      `<tr><th>${names[i]}</th>${row.map((v, j) => `<td style="background:${i === j ? '#e3f1e3' : v ? '#fbe9e9' : ''}">${v}</td>`).join('')}</tr>`,
  );
  table.innerHTML = head + rows.join('');
}

/** The 28×28 grey picture the drawing becomes once prepared as convts predict prepares it. */
export function showInput(canvas: HTMLCanvasElement, bytes: number[]): void {
  const g = canvas.getContext('2d') as CanvasRenderingContext2D;
  const img = g.createImageData(28, 28);
  if (bytes.length !== 28 * 28) return;
  bytes.forEach((v, i) => img.data.set([v, v, v, 255], i * 4));
  g.putImageData(img, 0, 0);
}

export function download(name: string, body: string | ArrayBuffer): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([body]));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
