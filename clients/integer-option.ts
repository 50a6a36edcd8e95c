// Whole-number command-line options for commander (the CLIs and the benches): a value that breaks
// the rule is refused with commander's own error, which names the option, before anything runs.
import { InvalidArgumentError } from 'commander';

/** A parser for `.option(flags, description, integerOption(1), default)`. */
export function integerOption(min: number, rule = `must be an integer >= ${min}`): (value: string) => number {
  return (value: string) => {
    // Digits only: Number() would also take '', ' 5', '1e3' and '0x10'.
    const n = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(rule);
    return n;
  };
}
