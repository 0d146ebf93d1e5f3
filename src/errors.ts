/** Base of every error convts throws on purpose; the message says what is wrong and how to fix it. */
export class ConvtsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor or layer got a shape it cannot take. */
export class ShapeError extends ConvtsError {}

/** A model spec, option or flag is invalid. */
export class ConfigError extends ConvtsError {}

/** The command line (or a --config file) is malformed: an unknown flag, a bad value, a missing argument. */
export class UsageError extends ConfigError {}

/** A file (data set, weights, spec) is malformed, truncated or does not fit. */
export class DataFormatError extends ConvtsError {}

/** Reading or writing a file failed (missing, a directory, no permission, disk full…); the message names the path. */
export class FileError extends ConvtsError {
  constructor(
    message: string,
    readonly path: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The work would need more memory than the budget allows; the message gives both figures. */
export class LimitError extends ConvtsError {}

/** A byte count for messages: 1.5 GB, 312 MB, 4 kB, 12 bytes. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return `${n} bytes`;
  const [k, u] =
    n >= 1e12 ? [1e12, 'TB'] : n >= 1e9 ? [1e9, 'GB'] : n >= 1e6 ? [1e6, 'MB'] : n >= 1e3 ? [1e3, 'kB'] : [1, ''];
  if (k === 1) return `${n} bytes`;
  const x = n / k;
  return `${x >= 1e6 ? x.toExponential(2) : Number(x.toPrecision(3))} ${u}`;
}

/** Training produced a NaN or infinite loss. */
export class DivergenceError extends ConvtsError {
  constructor(
    message: string,
    readonly epoch: number,
    readonly step: number,
  ) {
    super(message);
  }
}
