// PyTorch's side of `convts bench --compare torch`: tools/bench_torch.py as a server, one process per
// thread count (torch.set_num_threads is set once and never changed under a running pool).
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ConvtsError } from '../src/errors.js';
import type { ConvGeom } from '../src/kernels/kernels.js';
import type { Contender, Mode, Slice } from './timing.js';

/** tools/bench_torch.py, shipped in the npm package beside dist/. */
export const torchScript = fileURLToPath(new URL('../../tools/bench_torch.py', import.meta.url));

const env = {
  // PyTorch at its best on 2 cores: no OpenBLAS threads fighting its own, and glibc's malloc keeping
  // activation buffers mapped between steps instead of unmapping and re-faulting them.
  OPENBLAS_NUM_THREADS: '1',
  MALLOC_MMAP_THRESHOLD_: String(1 << 30),
  MALLOC_TRIM_THRESHOLD_: String(1 << 30),
  MALLOC_TOP_PAD_: String(1 << 28),
};

/** PyTorch's memory layouts: NCHW, and channels-last (NHWC), which oneDNN trains 1.1–1.3× faster here. */
export const torchLayouts = ['nchw', 'channels-last'] as const;
export type TorchLayout = (typeof torchLayouts)[number];

/** A pass of a convolution in a training step: forward, input gradient, weight gradient. */
export type ConvPass = 'forward' | 'data' | 'filter';

/** Steps every warm-up runs at least, however long they take: oneDNN creates and caches its primitives
 * (the forward's and both backward passes') in the first steps, and glibc grows its arenas. */
const warmSteps = 3;

export interface TorchPython {
  python: string;
  version: string;
}

/**
 * A Python that imports torch: $CONVTS_PYTHON, else python3 on the PATH, else Debian's /usr/bin/python3.
 * When none does, the error says what each answered and how to get PyTorch.
 */
export function findTorch(): TorchPython {
  if (!existsSync(torchScript))
    throw new ConvtsError(`--compare torch: ${torchScript} is missing — reinstall convts (the package ships it)`);
  const candidates = process.env.CONVTS_PYTHON ? [process.env.CONVTS_PYTHON] : ['python3', '/usr/bin/python3'];
  const answers: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python, version: r.stdout.trim() };
    answers.push(
      `${python}: ${r.error ? 'not found' : (r.stderr.trim().split('\n').pop() ?? `exit code ${r.status}`)}`,
    );
  }
  throw new ConvtsError(
    `--compare torch needs Python 3 with PyTorch (${answers.join('; ')}) — install it (Debian: apt-get install python3-torch; else pip install torch), or set CONVTS_PYTHON to a Python that has it`,
  );
}

/** A PyTorch contender; `drop` frees its network or tensors in the server. */
export type TorchContender = Contender & { drop(): Promise<void> };

/** One PyTorch server on `threads` threads; `setup` builds a network, then it is a race contender. */
export class TorchServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;

  constructor(
    python: string,
    readonly threads: number,
  ) {
    this.child = spawn(python, [torchScript, String(threads)], { env: { ...process.env, ...env } });
    this.child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  private async ask(line: string): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${line}\n`);
    const r = await this.lines.next();
    if (r.done)
      throw new ConvtsError(`${torchScript} stopped (exit code ${this.child.exitCode}) — see its error above`);
    return JSON.parse(r.value);
  }

  /** Builds `net` for `mode` at `batch` in `layout` and returns it as a contender. */
  async setup(net: string, mode: Mode, batch: number, layout: TorchLayout = 'nchw'): Promise<TorchContender> {
    return this.contender(`setup ${net} ${mode} ${batch} ${layout}`);
  }

  /** One pass of a bias-free convolution of geometry g in `layout`, as a contender (images: g.n a call). */
  async conv(g: ConvGeom, pass: ConvPass, layout: TorchLayout): Promise<TorchContender> {
    const dims = [g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw];
    return this.contender(`conv ${dims.join(' ')} ${pass} ${layout}`);
  }

  private async contender(line: string): Promise<TorchContender> {
    const { id } = (await this.ask(line)) as { id: number };
    return {
      warm: async (seconds) => void (await this.ask(`run ${id} ${seconds} ${warmSteps}`)),
      slice: async (seconds) => (await this.ask(`run ${id} ${seconds}`)) as unknown as Slice,
      drop: async () => void (await this.ask(`drop ${id}`)),
    };
  }

  close(): void {
    this.child.stdin.end();
  }
}
