// asciiJsonString (directory/ascii-json.ts): JSON string literals in ASCII that parse back to the
// same string, which is what lets a lookup answer go out as its latin1 bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciiJsonString } from '../src/directory/ascii-json.js';

const ASCII_ONLY = /^[\x00-\x7f]*$/;

describe('asciiJsonString', () => {
  it('escapes every character past U+007F, including lone and paired surrogates', () => {
    expect(asciiJsonString('log\n— sig')).toBe('"log\\n\\u2014 sig"');
    expect(asciiJsonString('😀')).toBe('"\\ud83d\\ude00"');
    expect(asciiJsonString('\ud800')).toBe('"\\ud800"');
    expect(asciiJsonString('é\u00ff')).toBe('"\\u00e9\\u00ff"');
    expect(asciiJsonString('alice@example.com')).toBe(JSON.stringify('alice@example.com'));
  });

  it('gives ASCII text that JSON.parse reads back to the same string, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        const json = asciiJsonString(s);
        expect(ASCII_ONLY.test(json)).toBe(true);
        expect(JSON.parse(json)).toBe(s);
        // latin1 bytes of the text are its UTF-8 bytes: what account-view.ts relies on.
        expect(Buffer.from(json, 'latin1').equals(Buffer.from(json, 'utf8'))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
