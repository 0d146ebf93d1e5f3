import os from 'node:os';
import { ConfigError, formatBytes, LimitError } from '../errors.js';

const units: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * How many bytes one command may allocate for data and models: $CONVTS_MEMORY_BUDGET ("512M",
 * "2G", or bytes), else the machine's available memory. Work over it is refused up front.
 */
export function memoryBudget(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.CONVTS_MEMORY_BUDGET;
  if (v === undefined || v === '') return os.freemem();
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(v);
  if (!m || Number(m[1]) <= 0)
    throw new ConfigError(`CONVTS_MEMORY_BUDGET=${v} is not a size — give bytes or a number with K, M or G, e.g. 2G`);
  return Number(m[1]) * units[m[2].toLowerCase()];
}

/** Throws a LimitError when `bytes` (what `what` would need) is over the budget. */
export function checkBudget(bytes: number, what: string, budget = memoryBudget()): void {
  if (bytes <= budget) return;
  throw new LimitError(
    `${what} would need ${formatBytes(bytes)} of memory, more than the budget of ${formatBytes(budget)} (${budgetName()}) — ` +
      'make it smaller, or raise CONVTS_MEMORY_BUDGET on a machine that has the memory',
  );
}

/** Where the budget comes from, for messages. */
export function budgetName(env: NodeJS.ProcessEnv = process.env): string {
  return env.CONVTS_MEMORY_BUDGET ? `CONVTS_MEMORY_BUDGET=${env.CONVTS_MEMORY_BUDGET}` : 'the available memory';
}
