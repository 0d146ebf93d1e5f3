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
