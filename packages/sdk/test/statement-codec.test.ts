// Canonical encoding of statements and signed statements (docs/STATEMENTS.md §2–§6): round trips,
// one valid encoding per statement, and every malformed input rejected with a SigilError.
import { p256 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk';
import {
  STATEMENT_MAGIC,
  decodeSignedStatement,
  decodeStatement,
  encodeSignedStatement,
  encodeStatement,
  type Statement,
  type StatementProof,
} from '@sigil/sdk/identity';

const keys = Array.from({ length: 6 }, () => p256.getPublicKey(p256.utils.randomSecretKey(), false));
const hex32 = (b: number) => b.toString(16).padStart(2, '0').repeat(16);
const header = { accountId: 'alice@example.org', seq: 3, prev: new Uint8Array(32).fill(0xab), time: 1_764_000_000_000, signer: hex32(0x11) };

const samples: Statement[] = [
  {
    kind: 'genesis',
    ...header,
    seq: 0,
    prev: new Uint8Array(32),
    roots: [
      { type: 'service', publicKey: keys[0]! },
      { type: 'webauthn', publicKey: keys[1]!, rpId: 'example.org', credentialId: new Uint8Array([1, 2, 3]) },
    ],
  },
  { kind: 'root-add', ...header, root: { type: 'webauthn', publicKey: keys[2]!, rpId: 'localhost', credentialId: new Uint8Array(1023).fill(9) } },
  { kind: 'device-certificate', ...header, device: { signingKey: keys[3]!, agreementKey: keys[4]!, possessionSignature: new Uint8Array(64).fill(0x5c), name: 'Laptop — Zoë 🔑' } },
  { kind: 'device-revocation', ...header, deviceId: hex32(0x22) },
  { kind: 'user-key-epoch', ...header, epoch: 1, userPublicKey: keys[5]!, possessionSignature: new Uint8Array(64).fill(0x5d), wraps: [{ deviceId: hex32(0x01), wrapHash: new Uint8Array(32).fill(1) }] },
  {
    kind: 'user-key-epoch',
    ...header,
    epoch: 7,
    userPublicKey: keys[5]!,
    possessionSignature: new Uint8Array(64).fill(0x5e),
    previousKeyWrapHash: new Uint8Array(32).fill(7),
    wraps: [
      { deviceId: hex32(0x01), wrapHash: new Uint8Array(32).fill(1) },
      { deviceId: hex32(0x02), wrapHash: new Uint8Array(32).fill(2) },
    ],
  },
];

const isDecodeError = (e: unknown) => SigilError.is(e, 'E_FORMAT', 'E_BAD_PUBLIC_KEY', 'E_UNSUPPORTED_VERSION');

function decodeOutcome(bytes: Uint8Array): 'rejected' | Uint8Array {
  try {
    return encodeStatement(decodeStatement(bytes));
  } catch (e) {
    if (!isDecodeError(e)) throw e;
    return 'rejected';
  }
}

describe('statement codec', () => {
  for (const s of samples) {
    it(`round-trips a ${s.kind} statement`, () => {
      const bytes = encodeStatement(s);
      expect(bytes.subarray(0, 16)).toEqual(STATEMENT_MAGIC);
      const decoded = decodeStatement(bytes);
      expect(decoded).toEqual(s);
      expect(encodeStatement(decoded)).toEqual(bytes);
    });
  }

  it('pins the byte layout of a revocation (docs/STATEMENTS.md §3, §4.5)', () => {
    const bytes = encodeStatement({ kind: 'device-revocation', accountId: 'a', seq: 1, prev: new Uint8Array(32).fill(0xab), time: 258, signer: hex32(0x11), deviceId: hex32(0x22) });
    const expected =
      Buffer.from('sigil-statement').toString('hex') + '02' + '04' + '01' + '61' + '00000001' + 'ab'.repeat(32) + '0000000000000102' + '11'.repeat(16) + '22'.repeat(16);
    expect(Buffer.from(bytes).toString('hex')).toBe(expected);
  });

  it('rejects every truncation and any trailing byte', () => {
    for (const s of samples) {
      const bytes = encodeStatement(s);
      for (let n = 0; n < bytes.length; n++) expect(decodeOutcome(bytes.subarray(0, n))).toBe('rejected');
      expect(decodeOutcome(new Uint8Array([...bytes, 0]))).toBe('rejected');
    }
  });

  it('rejects specific non-canonical or invalid fields', () => {
    const rev = encodeStatement(samples[3]!);
    const at = (i: number, v: number) => {
      const b = new Uint8Array(rev);
      b[i] = v;
      return b;
    };
    expect(() => decodeStatement(at(16, 9))).toThrow(expect.objectContaining({ code: 'E_FORMAT' })); // unknown kind
    // Version 1 (no proofs of possession) is no longer accepted, nor any later version.
    expect(() => decodeStatement(at(15, 1))).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED_VERSION' }));
    expect(() => decodeStatement(at(15, 3))).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED_VERSION' }));
    expect(() => decodeStatement(at(0, 0x53))).toThrow(expect.objectContaining({ code: 'E_FORMAT' })); // magic
    expect(() => decodeStatement(at(18, 0x20))).toThrow(expect.objectContaining({ code: 'E_FORMAT' })); // space in account id
    expect(() => decodeStatement(at(17, 0))).toThrow(expect.objectContaining({ code: 'E_FORMAT' })); // empty account id
    const timeAt = 18 + header.accountId.length + 4 + 32;
    expect(() => decodeStatement(at(timeAt, 0x01))).toThrow(expect.objectContaining({ code: 'E_FORMAT' })); // time >= 2^53

    const epoch = encodeStatement(samples[5]!);
    const swapped = new Uint8Array(epoch);
    const wrapsAt = epoch.length - 2 * 48;
    swapped.set(epoch.subarray(wrapsAt + 48, wrapsAt + 96), wrapsAt);
    swapped.set(epoch.subarray(wrapsAt, wrapsAt + 48), wrapsAt + 48);
    expect(() => decodeStatement(swapped)).toThrow(expect.objectContaining({ code: 'E_FORMAT' })); // unsorted wraps

    const cert = encodeStatement(samples[2]!);
    const badName = new Uint8Array(cert);
    badName[cert.length - 1] = 0xff; // invalid UTF-8
    expect(() => decodeStatement(badName)).toThrow(expect.objectContaining({ code: 'E_FORMAT' }));
    const keyAt = 18 + header.accountId.length + 4 + 32 + 8 + 16;
    const offCurve = new Uint8Array(cert);
    offCurve[keyAt + 64]! ^= 1;
    expect(() => decodeStatement(offCurve)).toThrow(expect.objectContaining({ code: 'E_BAD_PUBLIC_KEY' }));
    const compressed = new Uint8Array(cert);
    compressed[keyAt] = 0x02;
    expect(() => decodeStatement(compressed)).toThrow(expect.objectContaining({ code: 'E_BAD_PUBLIC_KEY' }));

    const genesis = encodeStatement(samples[0]!);
    const upper = new Uint8Array(genesis);
    const rpAt = Buffer.from(genesis).lastIndexOf('example.org');
    upper[rpAt] = 'E'.charCodeAt(0);
    expect(() => decodeStatement(upper)).toThrow(expect.objectContaining({ code: 'E_FORMAT' })); // RP IDs are lowercase
  });

  it('property: a mutated encoding never decodes to anything but its own canonical statement', () => {
    const encodings = samples.map((s) => encodeStatement(s));
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: encodings.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, ops) => {
        let b = Array.from(encodings[which]!);
        for (const m of ops) {
          const i = m.at % (b.length + 1);
          if (m.op === 'flip') b[i % b.length] = b[i % b.length]! ^ (1 << m.bit);
          else if (m.op === 'set') b[i % b.length] = m.value;
          else if (m.op === 'insert') b.splice(i, 0, m.value);
          else b.splice(i % b.length, 1);
        }
        const mutated = new Uint8Array(b);
        const outcome = decodeOutcome(mutated);
        // Either rejected, or a statement whose one canonical encoding is exactly these bytes.
        if (outcome !== 'rejected') expect(outcome).toEqual(mutated);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: arbitrary bytes give a SigilError or a canonical statement, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (tail) => {
        const bytes = new Uint8Array([...STATEMENT_MAGIC, ...tail]);
        const outcome = decodeOutcome(bytes);
        if (outcome !== 'rejected') expect(outcome).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects caller misuse with TypeError or RangeError', () => {
    const bad: [unknown, typeof TypeError | typeof RangeError][] = [
      [{ ...samples[3], accountId: '' }, RangeError],
      [{ ...samples[3], accountId: 'has space' }, RangeError],
      [{ ...samples[3], accountId: 'x'.repeat(129) }, RangeError],
      [{ ...samples[3], seq: -1 }, RangeError],
      [{ ...samples[3], seq: 1.5 }, RangeError],
      [{ ...samples[3], time: 2 ** 53 }, RangeError],
      [{ ...samples[3], prev: new Uint8Array(31) }, RangeError],
      [{ ...samples[3], signer: 'ABCD' }, TypeError],
      [{ ...samples[3], deviceId: hex32(0xab).toUpperCase() }, TypeError],
      [{ ...samples[3], kind: 'nope' }, TypeError],
      [{ ...samples[2], device: { ...(samples[2] as { device: object }).device, name: '' } }, RangeError],
      [{ ...samples[2], device: { ...(samples[2] as { device: object }).device, name: 'x'.repeat(65) } }, RangeError],
      [{ ...samples[2], device: { ...(samples[2] as { device: object }).device, name: '\ud800' } }, RangeError],
      [{ ...samples[2], device: { ...(samples[2] as { device: object }).device, signingKey: new Uint8Array(64) } }, RangeError],
      [{ ...samples[2], device: { ...(samples[2] as { device: object }).device, possessionSignature: new Uint8Array(63) } }, RangeError],
      [{ ...samples[2], device: { ...(samples[2] as { device: object }).device, possessionSignature: undefined } }, TypeError],
      [{ ...samples[4], possessionSignature: new Uint8Array(65) }, RangeError],
      [{ ...samples[4], possessionSignature: undefined }, TypeError],
      [{ ...samples[0], roots: [] }, RangeError],
      [{ ...samples[0], roots: [{ type: 'webauthn', publicKey: keys[0], rpId: 'Example.org', credentialId: new Uint8Array(1) }] }, RangeError],
      [{ ...samples[0], roots: [{ type: 'webauthn', publicKey: keys[0], rpId: 'example.org', credentialId: new Uint8Array(0) }] }, RangeError],
      [{ ...samples[0], roots: [{ type: 'hsm', publicKey: keys[0] }] }, TypeError],
      [{ ...samples[4], epoch: 0 }, RangeError],
      [{ ...samples[4], previousKeyWrapHash: new Uint8Array(32) }, RangeError],
      [{ ...samples[5], previousKeyWrapHash: undefined }, TypeError],
      [{ ...samples[5], wraps: [] }, RangeError],
      [{ ...samples[5], wraps: [...(samples[5] as { wraps: readonly object[] }).wraps].reverse() }, RangeError],
    ];
    for (const [s, type] of bad) expect(() => encodeStatement(s as Statement)).toThrow(type);
    const offCurve = new Uint8Array(keys[0]!);
    offCurve[64]! ^= 1;
    expect(() => encodeStatement({ ...samples[0]!, roots: [{ type: 'service', publicKey: offCurve }] } as Statement)).toThrow(
      expect.objectContaining({ code: 'E_BAD_PUBLIC_KEY' }),
    );
  });
});

describe('signed statement codec', () => {
  const tbs = encodeStatement(samples[3]!);
  const der = p256.sign(new Uint8Array(32), p256.utils.randomSecretKey(), { prehash: false, format: 'der' });
  const proofs: StatementProof[] = [
    { type: 'ecdsa', signature: new Uint8Array(64).fill(5) },
    { type: 'webauthn', authenticatorData: new Uint8Array(37).fill(1), clientDataJSON: new TextEncoder().encode('{}'), signature: der },
  ];

  for (const proof of proofs) {
    it(`round-trips with a ${proof.type} proof and rejects truncation and trailing bytes`, () => {
      const bytes = encodeSignedStatement(tbs, proof);
      const d = decodeSignedStatement(bytes);
      expect(d.statementBytes).toEqual(tbs);
      expect(d.statement).toEqual(samples[3]);
      expect(d.proof).toEqual(proof);
      expect(encodeSignedStatement(d.statementBytes, d.proof)).toEqual(bytes);
      for (let n = 0; n < bytes.length; n++) expect(() => decodeSignedStatement(bytes.subarray(0, n))).toThrow(SigilError);
      expect(() => decodeSignedStatement(new Uint8Array([...bytes, 0]))).toThrow(expect.objectContaining({ code: 'E_FORMAT' }));
    });
  }

  it('rejects a WebAuthn signature that is not strict DER, and unknown proof types', () => {
    const bytes = encodeSignedStatement(tbs, proofs[1]!);
    const sigAt = bytes.length - der.length;
    const ber = new Uint8Array([...bytes.subarray(0, sigAt - 1), der.length + 1, 0x30, 0x81, ...der.subarray(1)]);
    expect(() => decodeSignedStatement(ber)).toThrow(expect.objectContaining({ code: 'E_FORMAT' }));
    const unknown = new Uint8Array(encodeSignedStatement(tbs, proofs[0]!));
    unknown[4 + tbs.length] = 3;
    expect(() => decodeSignedStatement(unknown)).toThrow(expect.objectContaining({ code: 'E_FORMAT' }));
  });

  it('property: mutated signed statements are rejected or re-encode to the same bytes', () => {
    const encodings = proofs.map((p) => encodeSignedStatement(tbs, p));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, at, x) => {
        const b = new Uint8Array(encodings[which]!);
        b[at % b.length]! ^= x;
        let d;
        try {
          d = decodeSignedStatement(b);
        } catch (e) {
          expect(isDecodeError(e)).toBe(true);
          return;
        }
        expect(encodeSignedStatement(d.statementBytes, d.proof)).toEqual(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects caller misuse', () => {
    expect(() => encodeSignedStatement(tbs, { type: 'ecdsa', signature: new Uint8Array(63) })).toThrow(RangeError);
    expect(() => encodeSignedStatement(tbs, { type: 'x' } as never)).toThrow(TypeError);
    expect(() => encodeSignedStatement(new Uint8Array(0), proofs[0]!)).toThrow(RangeError);
  });
});
