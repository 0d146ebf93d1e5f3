import { ShapeError } from '../errors.js';
import type { Sequential } from '../model/sequential.js';
import { shapeStr, sizeOf, Tensor } from '../tensor/tensor.js';
import { type Canvas, drawImage, ink, range } from './canvas.js';
import { stack, tileGrid } from './grid.js';

/** Which layers' outputs are drawn as feature maps. */
const mapKinds = new Set(['conv2d', 'maxpool2d', 'avgpool2d']);

/** Draws a C×H×W image: one colour picture when C = 3, else channel 0 in grey; min–max scaled. */
export function drawSample(
  cv: Canvas,
  x: Float32Array,
  o: number,
  shape: readonly number[],
  px: number,
  py: number,
  scale: number,
): void {
  const [c, h, w] = shape;
  const [lo, hi] = range(x, o, c * h * w);
  drawImage(cv, x, o, [c, h, w], px, py, scale, lo, hi, c === 3 ? 'rgb' : 0);
}

/**
 * Runs one sample through the model and draws the input and the output of every conv and pool
 * layer: one grid per layer, each map scaled on its own (black = its smallest, white = its largest value).
 */
export function featureMapsPicture(model: Sequential, x: Float32Array, title = 'feature maps'): Canvas {
  const shape = model.inputShape;
  if (shape.length !== 3 || x.length !== sizeOf(shape)) {
    throw new ShapeError(`feature maps: the model takes ${shapeStr(shape)} samples (C×H×W), got ${x.length} values`);
  }
  const inScale = Math.max(2, Math.round(112 / shape[1]));
  const input = tileGrid(
    1,
    { cols: 1, tileW: shape[2] * inScale, tileH: shape[1] * inScale, title: `${title} — input ${shapeStr(shape)}` },
    (cv, _i, px, py) => drawSample(cv, x, 0, shape, px, py, inScale),
  );
  const parts = [input];
  let y = new Tensor([1, ...shape], Float32Array.from(x));
  for (const layer of model.layers) {
    y = layer.forward(y, false);
    if (!mapKinds.has(layer.kind) || layer.outShape.length !== 3) continue;
    const [c, h, w] = layer.outShape;
    const scale = Math.max(1, Math.round(72 / h));
    parts.push(
      tileGrid(
        c,
        {
          cols: Math.min(c, 12),
          maxWidth: 1000,
          tileW: w * scale,
          tileH: h * scale,
          title: `${layer.name} (${layer.kind}) ${shapeStr(layer.outShape)}`,
        },
        (cv, i, px, py) => {
          const [lo, hi] = range(y.data, i * h * w, h * w);
          drawImage(cv, y.data, i * h * w, [1, h, w], px, py, scale, lo, hi);
          cv.strokeRect(px - 1, py - 1, w * scale + 2, h * scale + 2, ink);
        },
      ),
    );
  }
  return stack(parts);
}
