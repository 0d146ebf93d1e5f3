import type { Param } from '../layers/layer.js';

/**
 * Scales all gradients together so that their global L2 norm is at most maxNorm, as
 * torch.nn.utils.clip_grad_norm_ (factor maxNorm/(norm + 1e-6) when below 1). Returns the norm
 * before clipping.
 */
export function clipGradNorm(params: readonly Param[], maxNorm: number): number {
  let sq = 0;
  for (const p of params) {
    if (p.frozen) continue; // frozen parameters neither count nor move, as without requires_grad
    const g = p.grad.data;
    for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  }
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const p of params) {
      if (p.frozen) continue;
      const g = p.grad.data;
      for (let i = 0; i < g.length; i++) g[i] *= coef;
    }
  }
  return norm;
}
