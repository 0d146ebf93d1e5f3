// The draw-a-digit canvas: black ink on white with mouse or touch (pointer events cover both). The
// picture goes to the worker as RGBA, where it is prepared as convts predict prepares a file.

export interface DrawPad {
  canvas: HTMLCanvasElement;
  clear(): void;
  /** The drawing as RGBA pixels, or null while nothing is drawn. */
  picture(): { width: number; height: number; rgba: Uint8ClampedArray } | null;
}

export function drawPad(canvas: HTMLCanvasElement, onChange: () => void): DrawPad {
  const g = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  let inked = false;
  let last: { x: number; y: number } | null = null;
  const clear = () => {
    g.fillStyle = '#fff';
    g.fillRect(0, 0, canvas.width, canvas.height);
    inked = false;
  };
  const at = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * canvas.width) / r.width, y: ((e.clientY - r.top) * canvas.height) / r.height };
  };
  const line = (to: { x: number; y: number }) => {
    g.strokeStyle = '#000';
    g.lineWidth = canvas.width / 14;
    g.lineCap = 'round';
    g.lineJoin = 'round';
    g.beginPath();
    g.moveTo((last ?? to).x, (last ?? to).y);
    g.lineTo(to.x, to.y);
    g.stroke();
    last = to;
    inked = true;
    onChange();
  };
  canvas.style.touchAction = 'none';
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = null;
    line(at(e));
  });
  canvas.addEventListener('pointermove', (e) => {
    if (last) line(at(e));
  });
  const end = () => {
    last = null;
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  clear();
  return {
    canvas,
    clear,
    picture: () =>
      inked
        ? { width: canvas.width, height: canvas.height, rgba: g.getImageData(0, 0, canvas.width, canvas.height).data }
        : null,
  };
}
