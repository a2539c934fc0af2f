// Commitments (draft-ietf-keytrans-protocol, "Commitment" and "Update Format"): the prefix tree
// holds, for each label-version pair, commitment = HMAC(Kc, CommitmentValue), never the value.
// The opening (Nc = 16 random bytes) is revealed only to whoever looks the pair up, so the tree
// leaks nothing of a value it does not show, and the directory can later forget a value by
// deleting its opening.
//
// Sigil's value is the hash of the statement that made the version (docs/TRANSPARENCY.md,
// "Verifiable map (KEYTRANS)"); nothing here depends on it. Sigil runs without third-party
// management, so UpdateValue's suffix is empty.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes, concatBytes, equalConstantTime } from '../../internal/bytes.js';
import { opaque32, opaque8, uint32 } from './presentation.js';
import { KT_COMMITMENT_KEY, KT_COMMITMENT_OPENING_LENGTH, KT_HASH_LENGTH } from './suite.js';

/**
 * The encoded `CommitmentValue` for a log without third-party management:
 * ```
 * struct { opaque value<0..2^32-1>; UpdateSuffix suffix; } UpdateValue;   // suffix empty
 * struct { opaque opening[Nc]; opaque label<0..2^8-1>; uint32 version; UpdateValue update; } CommitmentValue;
 * ```
 * @throws RangeError if `opening` is not 16 bytes, `label` is over 255 bytes or `version` is out of range.
 */
export function commitmentValue(opening: Uint8Array, label: Uint8Array, version: number, value: Uint8Array): Uint8Array {
  assertBytes('opening', opening, KT_COMMITMENT_OPENING_LENGTH);
  assertBytes('label', label);
  assertBytes('value', value);
  return concatBytes(opening, opaque8('label', label), uint32('version', version), opaque32('value', value));
}

/**
 * `commitment = HMAC-SHA256(Kc, CommitmentValue)`: the 32 bytes the prefix tree stores for
 * (`label`, `version`) with value `value`.
 *
 * @throws RangeError as {@link commitmentValue}.
 * @example
 * ```ts
 * const opening = generateOpening();
 * const leaf = { vrfOutput: searchKey, commitment: commit(opening, label, version, statementHash) };
 * ```
 */
export function commit(opening: Uint8Array, label: Uint8Array, version: number, value: Uint8Array): Uint8Array {
  return hmac(sha256, KT_COMMITMENT_KEY, commitmentValue(opening, label, version, value));
}

/**
 * Whether `commitment` opens, with `opening`, to (`label`, `version`, `value`). A commitment of
 * the wrong length is `false`; the comparison is constant-time.
 *
 * @throws RangeError as {@link commitmentValue}.
 */
export function verifyCommitment(
  commitment: Uint8Array,
  opening: Uint8Array,
  label: Uint8Array,
  version: number,
  value: Uint8Array,
): boolean {
  assertBytes('commitment', commitment);
  const expected = commit(opening, label, version, value);
  return commitment.length === KT_HASH_LENGTH && equalConstantTime(commitment, expected);
}

/**
 * A fresh random opening (Nc = 16 bytes) from the platform's CSPRNG. The draft allows deriving
 * openings from a secret key instead; Sigil draws them, so deleting one forgets the value for good.
 */
export function generateOpening(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(KT_COMMITMENT_OPENING_LENGTH));
}
