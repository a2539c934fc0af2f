// ECVRF-P256-SHA256-TAI (RFC 9381) against the RFC's Appendix B.1 examples, every intermediate
// value, then everything a verifier must refuse: each tampered proof bit, a wrong public key,
// a public key or Gamma that is not a canonical compressed point, s >= q, the wrong lengths.
// Vectors: packages/sdk/test/vectors/keytrans (origins in its SOURCES.md).
import { readFileSync } from 'node:fs';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk/errors';
import { ecvrfProofToHash, ecvrfProve, ecvrfPublicKey, ecvrfVerify } from '@sigil/sdk/transparency';
import { ecvrfEncodeToCurve, ecvrfNonce, ecvrfProveTrace } from '../src/transparency/keytrans/ecvrf.js';
import { concatBytes, fromHex as hex, toHex } from '../src/internal/bytes.js';

interface Rfc9381Vector {
  readonly example: number;
  readonly SK: string;
  readonly PK: string;
  readonly alpha: string;
  readonly ctr: number;
  readonly H: string;
  readonly k: string;
  readonly U: string;
  readonly V: string;
  readonly pi: string;
  readonly beta: string;
}
const { vectors } = JSON.parse(
  readFileSync(new URL('./vectors/keytrans/rfc9381-ecvrf-p256-sha256-tai.json', import.meta.url), 'utf8'),
) as { vectors: Rfc9381Vector[] };

const ORDER = p256.Point.Fn.ORDER;
const flipBit = (bytes: Uint8Array, bit: number): Uint8Array => {
  const out = new Uint8Array(bytes);
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
};

describe('ECVRF-P256-SHA256-TAI, RFC 9381 Appendix B.1', () => {
  it('has the three examples (10, 11, 12)', () => {
    expect(vectors.map((v) => v.example)).toEqual([10, 11, 12]);
  });

  for (const v of vectors) {
    describe(`Example ${v.example}`, () => {
      const sk = hex(v.SK);
      const alpha = hex(v.alpha);

      it('derives PK = x*B', () => {
        expect(toHex(ecvrfPublicKey(sk))).toBe(v.PK);
      });

      it('encodes to the curve with the printed ctr and H', () => {
        const { point, ctr } = ecvrfEncodeToCurve(hex(v.PK), alpha);
        expect(ctr).toBe(v.ctr);
        expect(toHex(point.toBytes(true))).toBe(v.H);
      });

      it('derives the RFC 6979 nonce k from h_string', () => {
        expect(ecvrfNonce(sk, hex(v.H)).toString(16).padStart(64, '0')).toBe(v.k);
      });

      it('proves with U = k*B, V = k*H and the printed pi', () => {
        const trace = ecvrfProveTrace(sk, alpha);
        expect(trace.ctr).toBe(v.ctr);
        expect(toHex(trace.h)).toBe(v.H);
        expect(trace.k.toString(16).padStart(64, '0')).toBe(v.k);
        expect(toHex(trace.u)).toBe(v.U);
        expect(toHex(trace.v)).toBe(v.V);
        expect(toHex(trace.proof)).toBe(v.pi);
        expect(toHex(ecvrfProve(sk, alpha))).toBe(v.pi);
      });

      it('gives beta from proof_to_hash and from verify', () => {
        expect(toHex(ecvrfProofToHash(hex(v.pi)))).toBe(v.beta);
        expect(toHex(ecvrfVerify(hex(v.PK), alpha, hex(v.pi))!)).toBe(v.beta);
      });

      // Every bit of Example 10's proof (648 verifications), every byte of the others: a
      // verification costs a few milliseconds, and the tests share two cores.
      const bits = v.example === 10 ? [0, 1, 2, 3, 4, 5, 6, 7] : [3];
      it(`refuses the proof with ${v.example === 10 ? 'any single bit' : 'any single byte'} tampered`, () => {
        const pi = hex(v.pi);
        for (let byte = 0; byte < pi.length; byte++) {
          for (const bit of bits) {
            expect(ecvrfVerify(hex(v.PK), alpha, flipBit(pi, byte * 8 + bit)), `byte ${byte} bit ${bit}`).toBeUndefined();
          }
        }
      });

      it('refuses the proof for another input', () => {
        expect(ecvrfVerify(hex(v.PK), concatBytes(alpha, Uint8Array.of(0)), hex(v.pi))).toBeUndefined();
        expect(ecvrfVerify(hex(v.PK), alpha.subarray(1), hex(v.pi))).toBeUndefined();
      });
    });
  }

  it('refuses a proof under another valid public key', () => {
    const [a, , c] = vectors as [Rfc9381Vector, Rfc9381Vector, Rfc9381Vector];
    expect(ecvrfVerify(hex(c.PK), hex(a.alpha), hex(a.pi))).toBeUndefined();
  });
});

describe('ECVRF verify refuses malformed keys and proofs (RFC 9381 §5.3, §5.4.4, §5.4.5)', () => {
  const v = vectors[0]!;
  const pk = hex(v.PK);
  const alpha = hex(v.alpha);
  const pi = hex(v.pi);

  it('a public key that is the uncompressed encoding of the same point', () => {
    const uncompressed = p256.Point.fromBytes(pk).toBytes(false);
    expect(ecvrfVerify(uncompressed, alpha, pi)).toBeUndefined();
  });

  it('a public key with x >= p, off the curve, of a wrong tag, length or the identity', () => {
    const xTooBig = concatBytes(Uint8Array.of(0x02), new Uint8Array(32).fill(0xff));
    const pX = concatBytes(Uint8Array.of(0x02), hex('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff'));
    // x = 0 is not on P-256 (b is not a square mod p).
    const offCurve = concatBytes(Uint8Array.of(0x02), new Uint8Array(32));
    const badTag = concatBytes(Uint8Array.of(0x04), pk.subarray(1));
    for (const bad of [xTooBig, pX, offCurve, badTag, Uint8Array.of(0x00), pk.subarray(0, 32), concatBytes(pk, Uint8Array.of(0)), new Uint8Array(0)]) {
      expect(ecvrfVerify(bad, alpha, pi), toHex(bad)).toBeUndefined();
    }
  });

  it('a Gamma that is not a canonical compressed point', () => {
    const rest = pi.subarray(33);
    const gammaX = pi.subarray(1, 33);
    for (const gamma of [
      concatBytes(Uint8Array.of(0x04), gammaX), // wrong tag
      concatBytes(Uint8Array.of(0x00), gammaX), // identity tag
      concatBytes(Uint8Array.of(pi[0]! ^ 1), gammaX), // the negated point: valid, but not Gamma
      concatBytes(Uint8Array.of(0x02), new Uint8Array(32).fill(0xff)), // x >= p
    ]) {
      expect(ecvrfVerify(pk, alpha, concatBytes(gamma, rest))).toBeUndefined();
    }
  });

  it('s >= q (s + q encodes the same residue, and is refused)', () => {
    const s = BigInt(`0x${toHex(pi.subarray(49))}`);
    for (const big of [s + ORDER, ORDER, (1n << 256n) - 1n]) {
      if (big >= 1n << 256n) continue;
      const sBytes = hex(big.toString(16).padStart(64, '0'));
      expect(ecvrfVerify(pk, alpha, concatBytes(pi.subarray(0, 49), sBytes))).toBeUndefined();
    }
  });

  it('a proof of the wrong length, and proof_to_hash refuses what does not decode', () => {
    for (const bad of [pi.subarray(0, 80), concatBytes(pi, Uint8Array.of(0)), new Uint8Array(0), new Uint8Array(81)]) {
      expect(ecvrfVerify(pk, alpha, bad)).toBeUndefined();
      expect(() => ecvrfProofToHash(bad)).toThrow(SigilError);
      try {
        ecvrfProofToHash(bad);
      } catch (e) {
        expect(SigilError.is(e, 'E_FORMAT')).toBe(true);
      }
    }
  });

  it('a forged proof with c = 0 and s = 0 (U and V the identity)', () => {
    const forged = concatBytes(pi.subarray(0, 33), new Uint8Array(48));
    expect(ecvrfVerify(pk, alpha, forged)).toBeUndefined();
  });

  it('misuse is a TypeError or RangeError', () => {
    expect(() => ecvrfVerify('x' as unknown as Uint8Array, alpha, pi)).toThrow(TypeError);
    expect(() => ecvrfProve(new Uint8Array(31), alpha)).toThrow(RangeError);
    expect(() => ecvrfProve(new Uint8Array(32), alpha)).toThrow(RangeError); // x = 0
    expect(() => ecvrfProve(hex(ORDER.toString(16)), alpha)).toThrow(RangeError); // x = q
  });

  it('round-trips fresh keys and inputs', () => {
    for (let i = 0; i < 8; i++) {
      const sk = p256.utils.randomSecretKey();
      const input = crypto.getRandomValues(new Uint8Array(i * 7));
      const proof = ecvrfProve(sk, input);
      expect(proof.length).toBe(81);
      expect(ecvrfVerify(ecvrfPublicKey(sk), input, proof)).toEqual(ecvrfProofToHash(proof));
    }
  });
});
