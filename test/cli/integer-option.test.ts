// The whole-number option parser the CLIs and benches share: digits within the rule pass, and
// anything else is refused with commander's error naming the option, before any action runs.
import { Command, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { integerOption } from '../../clients/integer-option.js';

describe('integerOption', () => {
  it('takes whole numbers at or above its minimum', () => {
    expect(integerOption(0)('0')).toBe(0);
    expect(integerOption(1)('40')).toBe(40);
    expect(integerOption(-5)('-5')).toBe(-5);
  });

  it.each(['', ' 5', '5 ', '1.5', '1e3', '0x10', 'abc', '-', '99999999999999999999'])('refuses %j', (value) => {
    expect(() => integerOption(0)(value)).toThrow(InvalidArgumentError);
  });

  it('refuses a value below the minimum with the rule it breaks', () => {
    expect(() => integerOption(1)('0')).toThrow('must be an integer >= 1');
    expect(() => integerOption(0, 'must be a whole number of seconds, 0 or more')('-1')).toThrow('must be a whole number of seconds, 0 or more');
  });

  it('makes commander name the option and stop before the action', () => {
    let ran = false;
    const program = new Command('t')
      .exitOverride()
      .configureOutput({ writeErr: () => {} })
      .option('--runs <n>', 'runs', integerOption(1), 3)
      .action(() => {
        ran = true;
      });
    expect(() => program.parse(['--runs', 'many'], { from: 'user' })).toThrow("option '--runs <n>' argument 'many' is invalid. must be an integer >= 1");
    expect(ran).toBe(false);
    program.parse(['--runs', '7'], { from: 'user' });
    expect(program.opts().runs).toBe(7);
    expect(ran).toBe(true);
  });
});
