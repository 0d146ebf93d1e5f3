// The layers of modern CNNs against PyTorch: batch norm in training and evaluation mode (with its
// running statistics), "same" padding, global pools, leaky ReLU, GELU (tanh) and residual blocks,
// from test/fixtures/modern-layers.safetensors (tools/fixtures_modern.py).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LayerSpec } from '../src/index.js';
import { checkLayer, loadFixture, type Tolerance } from './helpers/check.js';

interface Case {
  name: string;
  spec: LayerSpec;
  inputShape: number[];
  batch: number;
  training: boolean;
  params: string[];
  buffers: string[];
}

// As for the other layers: rtol 1e-4, and an atol of ~1e-5 of the values (x ~ 2, weights ~ 0.5).
const tol: Tolerance = { rtol: 1e-4, atol: 1e-5 };

describe('modern layers against PyTorch', () => {
  const { t, meta } = loadFixture('modern-layers.safetensors');
  const cases = JSON.parse(meta.cases) as Case[];

  test('the fixtures cover every new layer kind, batch norm in both modes and both shortcuts', () => {
    const kinds = new Set(cases.map((c) => c.spec.type));
    for (const k of ['batchnorm', 'globalavgpool', 'globalmaxpool', 'leaky-relu', 'gelu', 'residual']) {
      assert.ok(kinds.has(k as LayerSpec['type']), `no fixture for ${k}`);
    }
    const bn = cases.filter((c) => c.spec.type === 'batchnorm');
    assert.ok(bn.some((c) => c.training) && bn.some((c) => !c.training));
    assert.ok(cases.some((c) => c.spec.type === 'residual' && c.spec.shortcut !== undefined));
  });

  for (const c of cases) {
    test(`${c.name} (${c.training ? 'training' : 'evaluation'}): y, dx, gradients and running statistics`, () => {
      const pick = (prefix: string, names: string[]) =>
        Object.fromEntries(names.map((n) => [n, t(`${c.name}.${prefix}.${n}`)]));
      checkLayer(c.spec, {
        inputShape: c.inputShape,
        batch: c.batch,
        training: c.training,
        fixture: {
          x: t(`${c.name}.x`),
          params: pick('p', c.params),
          grads: pick('d', c.params),
          buffers: pick('buf', c.buffers),
          buffersAfter: pick('after', c.buffers),
          dy: t(`${c.name}.dy`),
          y: t(`${c.name}.y`),
          dx: t(`${c.name}.dx`),
          tol,
        },
      });
    });
  }
});
