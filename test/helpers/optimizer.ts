// Optimizers wrapped for trainer tests: a hook around each step (lr reads and writes go through).
import type { Optimizer } from '../../src/index.js';

/** `inner`, calling `before` ahead of each step and `after` once it is taken. */
export function wrap(inner: Optimizer, before: () => void, after: () => void = () => {}): Optimizer {
  return {
    get lr() {
      return inner.lr;
    },
    set lr(v: number) {
      inner.lr = v;
    },
    step: (p) => {
      before();
      inner.step(p);
      after();
    },
    state: () => inner.state(),
    loadState: (s) => inner.loadState(s),
  };
}

/** Aborts `ctl` once `inner` has taken `n` steps, as Ctrl-C would: for resume tests. */
export function abortAfter(inner: Optimizer, n: number, ctl: AbortController): Optimizer {
  let steps = 0;
  return wrap(
    inner,
    () => {},
    () => {
      if (++steps === n) ctl.abort();
    },
  );
}
