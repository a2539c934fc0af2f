// A raw P-256 public key as a node:crypto KeyObject, for tests that verify with node:crypto.
import { createPublicKey } from 'node:crypto';

export function spkiFromRaw(raw: Uint8Array) {
  // SubjectPublicKeyInfo prefix for id-ecPublicKey / prime256v1 (RFC 5480 §2).
  const prefix = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
  return createPublicKey({ key: Buffer.concat([prefix, Buffer.from(raw)]), format: 'der', type: 'spki' });
}
