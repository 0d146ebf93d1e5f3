// Arrays that live in a shared WebAssembly memory: the kernels pass them by address instead of copying
// them in before a call and out after it (layers keep their outputs, gradients and parameters there).
// Only for a shared memory: growing an unshared one detaches its buffer, and with it every such array.

/** Hands out zeroed arrays in `memory` and finds the address of any array that lives there. */
export class ResidentArrays {
  /** The memory's buffer objects seen so far: a shared memory gives a new one each time it grows. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  /** Blocks of collected arrays, by size in bytes. */
  private readonly free = new Map<number, number[]>();
  private readonly registry = new FinalizationRegistry<[number, number]>(([bytes, at]) => this.blocks(bytes).push(at));

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly alloc: (bytes: number) => number,
  ) {}

  floats(length: number): Float32Array {
    return this.make(length, (b, at) => new Float32Array(b, at, length));
  }

  ints(length: number): Int32Array {
    return this.make(length, (b, at) => new Int32Array(b, at, length));
  }

  /** The byte address of `a` in the memory, or −1 when it is an array of its own. */
  address(a: Float32Array | Int32Array): number {
    return this.buffers.has(a.buffer) ? a.byteOffset : -1;
  }

  private make<T extends Float32Array | Int32Array>(length: number, view: (b: ArrayBufferLike, at: number) => T): T {
    const bytes = Math.max(64, Math.ceil(length / 16) * 64);
    const at = this.blocks(bytes).pop() ?? this.alloc(bytes);
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    const a = view(buffer, at).fill(0) as T;
    this.registry.register(a, [bytes, at]);
    return a;
  }

  private blocks(bytes: number): number[] {
    const list = this.free.get(bytes) ?? [];
    this.free.set(bytes, list);
    return list;
  }
}
