import { ShapeError } from '../errors.js';
import type { PoolGeom } from '../kernels/index.js';
import type { Shape } from '../tensor/tensor.js';
import { pair } from './layer.js';

export interface Pool2dSpec {
  type: 'maxpool2d' | 'avgpool2d';
  size: number | [number, number];
  /** Defaults to the window size, as in PyTorch. */
  stride?: number | [number, number];
  name?: string;
}

/** Window geometry shared by max and average pooling; throws when the window does not fit. */
export function poolGeom(spec: Pool2dSpec, inShape: Shape): PoolGeom {
  if (inShape.length !== 3) {
    throw new ShapeError(
      `expects a C×H×W input, got a ${inShape.length}-D shape [${inShape.join(', ')}] — pool before flatten`,
    );
  }
  const [c, h, w] = inShape;
  const [kh, kw] = pair(spec.size, 2);
  const [sh, sw] = pair(spec.stride ?? spec.size, 2);
  const oh = Math.floor((h - kh) / sh) + 1;
  const ow = Math.floor((w - kw) / sw) + 1;
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || oh < 1 || ow < 1) {
    throw new ShapeError(`a ${kh}×${kw} window with stride ${sh}×${sw} does not fit a ${h}×${w} input`);
  }
  return { n: 0, c, h, w, kh, kw, sh, sw, oh, ow };
}
