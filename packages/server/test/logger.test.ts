// The JSON-lines logger (http/logger.ts) writes each line field by field; it must give what
// JSON.stringify gives for the same object, whatever the fields.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonLogger, type LogFields, type LogLevel } from '../src/http/logger.js';

describe('jsonLogger', () => {
  it('writes the JSON of { time, level, msg, ...fields } as one line, for any flat fields (undefined ones left out)', () => {
    const lines: string[] = [];
    const logger = jsonLogger((line) => lines.push(line));
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.double(), fc.integer(), fc.boolean(), fc.constant(undefined));
    const key = fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('time', 'level', 'msg', 'status', 'ms'));
    fc.assert(
      fc.property(fc.constantFrom<LogLevel>('debug', 'info', 'warn', 'error'), fc.string({ unit: 'binary', maxLength: 20 }), fc.dictionary(key, value), (level, message, fields: LogFields) => {
        logger.log(level, message, fields);
        const line = lines.at(-1)!;
        expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
        // An undefined field is left out, so it never takes the place of the line's own time,
        // level or message.
        const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
        const time = 'time' in defined ? undefined : (JSON.parse(line) as { time: unknown }).time;
        const expected = JSON.stringify({ time, level, msg: message, ...defined });
        expect(line).toBe(`${expected}\n`);
      }),
      { numRuns: 1000 },
    );
  });

  it('stamps lines with the current time in ISO 8601', () => {
    const lines: string[] = [];
    const before = Date.now();
    jsonLogger((line) => lines.push(line)).log('info', 'hello');
    const time = Date.parse((JSON.parse(lines[0]!) as { time: string }).time);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });
});
