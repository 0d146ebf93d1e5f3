import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildModel, builtinSpec, Tensor } from '../src/index.js';

test("seed-mnist builds with the report's shapes and runs a batch", () => {
  const model = buildModel(builtinSpec('seed-mnist'), { seed: 1 });
  assert.deepEqual(
    model.layers.map((l) => l.outShape.join('x')),
    ['8x24x24', '8x24x24', '8x20x20', '8x20x20', '8x10x10', '800', '128', '128', '10', '10'],
  );
  const p = model.predict(new Tensor([2, 1, 28, 28]).reshape([2, 1, 28, 28]));
  assert.equal(p.shape.join('x'), '2x10');
  const sums = [0, 1].map((i) => p.data.slice(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0));
  for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5);
});
