// The spec editor's check, run as the user types: JSON syntax, the spec's own rules, then every
// layer's shapes (by building it) and the fit to the loaded data.
import { buildModel } from '../../../src/model/build.js';
import { type ModelSpec, validateSpec } from '../../../src/model/spec.js';

export function checkSpec(
  text: string,
  dataShape?: number[],
  classes?: number,
): { spec: ModelSpec | null; message: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { spec: null, message: `not JSON: ${(e as Error).message}` };
  }
  try {
    const spec = validateSpec(raw, 'spec');
    const model = buildModel(spec);
    const want = model.inputShape.join('×');
    if (dataShape && dataShape.join('×') !== want)
      return { spec: null, message: `the network takes ${want} inputs, the data's images are ${dataShape.join('×')}` };
    if (classes !== undefined && model.classes !== classes)
      return { spec: null, message: `the network has ${model.classes} outputs, the data ${classes} classes` };
    const params = model.params().reduce((a, p) => a + p.value.size, 0);
    return {
      spec,
      message: `fits: ${model.layers.length} layers, ${params.toLocaleString('en')} parameters, ${model.classes} classes`,
    };
  } catch (e) {
    return { spec: null, message: (e as Error).message };
  }
}
