// The per-message signing key of signing mode 0x02 (docs/FORMAT.md §4.1, §5.4): a stream is
// signed as it goes, segment by segment, but the sender's long-term key may be a
// non-extractable WebCrypto key or a token key (20-100 µs a signature, and a token round trip):
// it signs once, the header, which names this key; this key signs every segment. Its private
// half never leaves this object and is dropped with it when the stream ends.
import { platform } from '#platform';
import { p256 } from '@noble/curves/nist.js';
import { toLowS } from './binding.js';

/** Signs the segments of one message (ECDSA P-256/SHA-256, IEEE P1363, low-S). */
export interface SegmentSigner {
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export interface MessageKey extends SegmentSigner {
  /** Uncompressed SEC1 point, 65 bytes: written into the header (FORMAT.md §3.1). */
  readonly publicKey: Uint8Array;
}

/**
 * A fresh key pair from the platform: a non-extractable WebCrypto key in browsers, a
 * node:crypto KeyObject in Node (about 10x faster to sign with than WebCrypto there).
 */
export async function generateMessageKey(): Promise<MessageKey> {
  const pair = await platform.generateEcdsaKeyPair();
  return { publicKey: pair.publicKey, sign: async (message) => toLowS(await pair.sign(message)) };
}

/**
 * TEST-ONLY: a message key from a known scalar, signing with RFC 6979 deterministic nonces, so
 * that the vector script makes reproducible envelopes. Never used by a production path.
 */
export function insecureMessageKeyFromScalar(privateKey: Uint8Array): MessageKey {
  return {
    publicKey: p256.getPublicKey(privateKey, false),
    sign: async (message) => toLowS(p256.sign(message, privateKey, { prehash: true, lowS: true })),
  };
}
