import type { BatchNorm } from '../layers/batchnorm.js';
import type { Conv2d } from '../layers/conv2d.js';
import type { Dense } from '../layers/dense.js';
import type { Layer } from '../layers/layer.js';
import type { Residual } from '../layers/residual.js';
import { buildModel } from './build.js';
import type { Sequential } from './sequential.js';
import type { LayerSpec } from './spec.js';

/**
 * An inference copy of `model` with each batch norm folded into the conv2d or dense layer before
 * it, as evaluation computes it (running statistics): W' = W·s and b' = (b − mean)·s + β per
 * output channel, s = γ/√(var + ε). A max pool between the two is crossed when every s is
 * positive (max commutes with a positive scale and a shift), as in conv → pool → batchnorm
 * blocks. Anything else stays as it was. The copy gives the same outputs as the model's
 * evaluation forward up to float rounding, with fewer layers to run; it is not for training.
 */
export function foldBatchNorm(model: Sequential): { model: Sequential; folded: number } {
  const into = new Map<Layer, BatchNorm>();
  const layers = foldList(model.layers, model.spec.layers, into);
  if (into.size === 0) return { model, folded: 0 };
  const folded = buildModel({ ...model.spec, layers });
  copyWeights(folded.layers, model.layers, into);
  return { model: folded, folded: into.size };
}

/** The specs of `layers` with foldable batch norms left out; `into` maps each conv/dense to the norm it absorbs. */
function foldList(layers: readonly Layer[], specs: readonly LayerSpec[], into: Map<Layer, BatchNorm>): LayerSpec[] {
  const out: LayerSpec[] = [];
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    const spec = { ...specs[i], name: l.name } as LayerSpec;
    if (spec.type === 'residual') {
      const r = l as Residual;
      out.push({ ...spec, layers: foldList(r.body, spec.layers, into) });
      continue;
    }
    out.push(spec);
    if (spec.type !== 'conv2d' && spec.type !== 'dense') continue;
    let j = i + 1;
    while (layers[j]?.kind === 'maxpool2d') j++;
    const bn = layers[j]?.kind === 'batchnorm' ? (layers[j] as BatchNorm) : null;
    if (!bn || (j > i + 1 && !scales(bn).every((s) => s > 0))) continue;
    spec.bias = true;
    into.set(l, bn);
    for (let k = i + 1; k < j; k++) out.push({ ...specs[k], name: layers[k].name } as LayerSpec);
    i = j; // the batch norm itself is left out
  }
  return out;
}

/** Per channel: γ/√(var + ε), in float64. */
function scales(bn: BatchNorm): number[] {
  const v = bn.runningVar.value.data;
  const g = bn.weight?.value.data;
  return Array.from(v, (x, c) => (g ? g[c] : 1) / Math.sqrt(x + bn.eps));
}

/** Fills the folded model's layers from the originals, matched by name within each list. */
function copyWeights(to: readonly Layer[], from: readonly Layer[], into: Map<Layer, BatchNorm>): void {
  const byName = new Map(from.map((l) => [l.name, l]));
  for (const t of to) {
    const f = byName.get(t.name)!;
    if (t.kind === 'residual') {
      const [tr, fr] = [t as Residual, f as Residual];
      copyWeights(tr.body, fr.body, into);
      if (tr.shortcut && fr.shortcut) copyWeights([tr.shortcut], [fr.shortcut], into);
      continue;
    }
    const bn = into.get(f);
    if (!bn) {
      t.params.forEach((p, k) => p.value.data.set(f.params[k].value.data));
      t.buffers.forEach((b, k) => b.value.data.set(f.buffers[k].value.data));
      continue;
    }
    const [tl, fl] = [t as Conv2d | Dense, f as Conv2d | Dense];
    const s = scales(bn);
    const mean = bn.runningMean.value.data;
    const beta = bn.bias?.value.data;
    const w = fl.weight.value.data;
    const per = w.length / s.length; // weights per output channel ([out, …] layout)
    const tw = tl.weight.value.data;
    for (let i = 0; i < w.length; i++) tw[i] = w[i] * s[Math.floor(i / per)];
    const b = fl.bias?.value.data;
    const tb = tl.bias!.value.data;
    for (let c = 0; c < s.length; c++) tb[c] = ((b ? b[c] : 0) - mean[c]) * s[c] + (beta ? beta[c] : 0);
  }
}
