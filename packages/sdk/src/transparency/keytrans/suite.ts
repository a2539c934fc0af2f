// The one KEYTRANS cipher suite Sigil uses, KT_128_SHA256_P256 (draft-ietf-keytrans-protocol,
// "KT Cipher Suites"; pinned revision in docs/TRANSPARENCY.md, "Verifiable map (KEYTRANS)").
// One suite, no negotiation, as everywhere else in Sigil: the constants live here once.

/** The suite's registry value, `CipherSuite KT_128_SHA256_P256 = 0x0001`. */
export const KT_CIPHER_SUITE = 0x0001;

/** `Hash.Nh`: SHA-256 output length, the size of every tree node value. */
export const KT_HASH_LENGTH = 32;

/** `VRF.Nh`: the ECVRF-P256-SHA256-TAI output (beta) length, i.e. a prefix-tree search key. */
export const KT_VRF_OUTPUT_LENGTH = 32;

/** `VRF.Np`: an ECVRF-P256-SHA256-TAI proof, Gamma (33) || c (16) || s (32). */
export const KT_VRF_PROOF_LENGTH = 81;

/** An ECVRF-P256-SHA256-TAI public key: a SEC1 compressed point (the suite says compressed). */
export const KT_VRF_PUBLIC_KEY_LENGTH = 33;

/** `Nc`: the length of a commitment opening. */
export const KT_COMMITMENT_OPENING_LENGTH = 16;

/**
 * `Kc`: the fixed HMAC key of commitments, the 16 bytes whose hex is
 * d821f8790d97709796b4d7903357c3f5 (not the 32 ASCII characters: the draft author's
 * implementation and the interop vectors in packages/sdk/test/vectors/keytrans read it this way).
 */
export const KT_COMMITMENT_KEY: Uint8Array = Uint8Array.of(
  0xd8, 0x21, 0xf8, 0x79, 0x0d, 0x97, 0x70, 0x97, 0x96, 0xb4, 0xd7, 0x90, 0x33, 0x57, 0xc3, 0xf5,
);
