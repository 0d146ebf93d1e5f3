import { execFileSync } from 'node:child_process';
import * as ort from 'onnxruntime-web';

// onnxruntime-web's WebAssembly build, in this process: one thread, no worker to spawn.
ort.env.wasm.numThreads = 1;

/** Runs an ONNX model on one float32 input; returns every output's values and shape. */
export async function runOnnx(
  bytes: Uint8Array,
  input: string,
  x: Float32Array,
  dims: number[],
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ [input]: new ort.Tensor('float32', x, dims) });
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { data: t.data as Float32Array, dims: t.dims }]));
  } finally {
    await session.release();
  }
}

/**
 * Runs Debian's ONNX checker (full check, with shape inference) on files; returns null when
 * python3-onnx is missing, else one line per file: "ok" or the checker's complaint.
 */
export function onnxCheck(files: string[]): string[] | null {
  const script = `
import sys
try:
    import onnx
except ImportError:
    print('missing'); sys.exit(0)
for f in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(f), full_check=True); print('ok')
    except Exception as e:
        print(f + ': ' + str(e).replace('\\n', ' '))
`;
  let out: string;
  try {
    out = execFileSync('/usr/bin/python3', ['-c', script, ...files], { encoding: 'utf8' });
  } catch {
    return null;
  }
  return out.trim() === 'missing' ? null : out.trim().split('\n');
}
