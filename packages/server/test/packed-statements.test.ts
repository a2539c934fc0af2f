// The text an account row keeps its statements in (store/packed-statements.ts): what appendPacked
// writes, unpack reads back exactly; anything else in the row is refused as a damaged store.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appendPacked, unpack } from '../src/store/packed-statements.js';

describe('packed statements', () => {
  it('writes the leaf index, a colon, the base64url and a newline per statement (known answer)', () => {
    const packed = appendPacked(appendPacked('', 5, Uint8Array.of(0xff)), 2 ** 48 - 1, new Uint8Array(0));
    expect(packed).toBe('5:_w\n281474976710655:\n');
    expect(unpack(packed)).toEqual([
      { leafIndex: 5, statementB64: '_w' },
      { leafIndex: 2 ** 48 - 1, statementB64: '' },
    ]);
  });

  it('reads back every list of statements it wrote (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.uint8Array({ maxLength: 300 })), { maxLength: 8 }), (list) => {
        const packed = list.reduce((text, [leafIndex, bytes]) => appendPacked(text, leafIndex, bytes), '');
        expect(unpack(packed)).toEqual(list.map(([leafIndex, bytes]) => ({ leafIndex, statementB64: Buffer.from(bytes).toString('base64url') })));
      }),
    );
  });

  it('refuses leaf indices it cannot write back', () => {
    for (const bad of [-1, 1.5, 2 ** 48, Number.NaN]) expect(() => appendPacked('', bad, Uint8Array.of(1))).toThrow(RangeError);
  });

  it('refuses a row whose framing is not its own (a damaged store)', () => {
    for (const bad of ['5:AQ', '5AQ\n', ':AQ\n', '05:AQ\n', '-5:AQ\n', '+5:AQ\n', '1e3:AQ\n', 'x:AQ\n', `${'9'.repeat(16)}:AQ\n`, '5:AQ\n7']) {
      expect(() => unpack(bad), bad).toThrow(/damaged/);
    }
    expect(unpack('')).toEqual([]);
  });
});
