// A saved model chosen in the page: the three files convts train writes (model.json,
// model.safetensors, config.json), found by name among those the user picked.
import type { ModelFiles } from './protocol.js';

export async function modelFiles(list: FileList | null): Promise<ModelFiles> {
  const files = [...(list ?? [])];
  const get = (n: string) => files.find((f) => f.name === n || f.name.endsWith(n.replace('model', '')));
  const [json, weights, config] = [get('model.json'), get('model.safetensors'), get('config.json')];
  if (!json || !weights || !config) throw new Error('choose model.json, model.safetensors and config.json together');
  return {
    'model.json': await json.text(),
    'model.safetensors': await weights.arrayBuffer(),
    'config.json': await config.text(),
  };
}
