/**
 * An exponential moving average of a model's weights and float buffers (batch norm's running
 * statistics), updated after every optimizer step: ema = decay·ema + (1 − decay)·w. It starts
 * as a copy of the tensors it is given. Evaluation swaps it in and back out.
 */
export class Ema {
  readonly decay: number;
  readonly shadow: Float32Array[];
  private readonly tensors: Float32Array[];

  /** `tensors`: the live arrays to follow (weights, running statistics), in a fixed order. */
  constructor(tensors: Float32Array[], decay: number, shadow?: Float32Array[]) {
    this.decay = decay;
    this.tensors = tensors;
    this.shadow = shadow ?? tensors.map((t) => t.slice());
  }

  update(): void {
    const d = this.decay;
    for (let k = 0; k < this.tensors.length; k++) {
      const w = this.tensors[k];
      const s = this.shadow[k];
      for (let i = 0; i < w.length; i++) s[i] = d * s[i] + (1 - d) * w[i];
    }
  }

  /**
   * Lookahead's sync: the average takes one step of weight `1 − decay` towards the live tensors,
   * then the live tensors restart from it.
   */
  pull(decay: number): void {
    for (let k = 0; k < this.tensors.length; k++) {
      const w = this.tensors[k];
      const s = this.shadow[k];
      for (let i = 0; i < w.length; i++) {
        s[i] = decay * s[i] + (1 - decay) * w[i];
        w[i] = s[i];
      }
    }
  }

  /** Puts the average into the live tensors. */
  restore(): void {
    for (let k = 0; k < this.tensors.length; k++) this.tensors[k].set(this.shadow[k]);
  }

  /** Exchanges the live tensors with the average (call again to undo). */
  swap(): void {
    for (let k = 0; k < this.tensors.length; k++) {
      const w = this.tensors[k];
      const s = this.shadow[k];
      for (let i = 0; i < w.length; i++) {
        const t = w[i];
        w[i] = s[i];
        s[i] = t;
      }
    }
  }
}
