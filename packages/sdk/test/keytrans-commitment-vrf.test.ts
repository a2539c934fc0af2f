// The KEYTRANS wrappers around the primitives: VrfInput and commitment encodings at their
// limits, a search key's proof refused under another key or for another pair, and misuse.
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk/errors';
import {
  KT_COMMITMENT_OPENING_LENGTH,
  commit,
  ecvrfPublicKey,
  generateOpening,
  proveSearchKey,
  verifyCommitment,
  verifySearchKey,
  vrfInput,
} from '@sigil/sdk/transparency';
import { toHex } from '../src/internal/bytes.js';

const enc = new TextEncoder();
const vrfKey = new Uint8Array(32).fill(0x5a);
const otherKey = new Uint8Array(32).fill(0x5b);
const label = enc.encode('acct_7Q2');

function refusedProof(f: () => unknown): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(SigilError.is(caught, 'E_DIRECTORY_PROOF')).toBe(true);
  expect((caught as SigilError).detail).toBe('vrf-proof');
}

describe('search keys (VRF over VrfInput)', () => {
  const { searchKey, proof } = proveSearchKey(vrfKey, label, 3);

  it('verify returns the proven search key', () => {
    expect(toHex(verifySearchKey(ecvrfPublicKey(vrfKey), label, 3, proof))).toBe(toHex(searchKey));
  });

  it('refuses the proof under another VRF key, for another version, another label, and a bad key', () => {
    refusedProof(() => verifySearchKey(ecvrfPublicKey(otherKey), label, 3, proof));
    refusedProof(() => verifySearchKey(ecvrfPublicKey(vrfKey), label, 4, proof));
    refusedProof(() => verifySearchKey(ecvrfPublicKey(vrfKey), enc.encode('acct_7Q3'), 3, proof));
    refusedProof(() => verifySearchKey(new Uint8Array(33), label, 3, proof));
    refusedProof(() => verifySearchKey(ecvrfPublicKey(vrfKey), label, 3, proof.subarray(1)));
  });

  it('versions of one label get unrelated search keys', () => {
    expect(toHex(proveSearchKey(vrfKey, label, 4).searchKey)).not.toBe(toHex(searchKey));
  });

  it('VrfInput limits: label of 255 bytes, version 2^32-1; beyond is a RangeError', () => {
    expect(vrfInput(new Uint8Array(255), 0xffff_ffff).length).toBe(1 + 255 + 4);
    expect(() => vrfInput(new Uint8Array(256), 0)).toThrow(RangeError);
    for (const v of [-1, 2 ** 32, 1.5, Number.NaN]) expect(() => vrfInput(label, v)).toThrow(RangeError);
  });
});

describe('commitments', () => {
  const opening = generateOpening();
  const value = new Uint8Array(32).fill(7); // a statement hash

  it('a fresh opening is Nc = 16 random bytes', () => {
    expect(opening.length).toBe(KT_COMMITMENT_OPENING_LENGTH);
    expect(toHex(generateOpening())).not.toBe(toHex(opening));
  });

  it('opens to its own (label, version, value) only', () => {
    const c = commit(opening, label, 0, value);
    expect(verifyCommitment(c, opening, label, 0, value)).toBe(true);
    expect(verifyCommitment(c, generateOpening(), label, 0, value)).toBe(false);
    expect(verifyCommitment(c, opening, label, 1, value)).toBe(false);
    expect(verifyCommitment(c, opening, enc.encode('acct_7Q3'), 0, value)).toBe(false);
    expect(verifyCommitment(c, opening, label, 0, value.subarray(1))).toBe(false);
    expect(verifyCommitment(c.subarray(1), opening, label, 0, value)).toBe(false);
  });

  it('misuse is a RangeError: an opening not of 16 bytes, a label over 255 bytes', () => {
    expect(() => commit(new Uint8Array(15), label, 0, value)).toThrow(RangeError);
    expect(() => commit(opening, new Uint8Array(256), 0, value)).toThrow(RangeError);
  });
});
