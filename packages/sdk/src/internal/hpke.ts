// HPKE (RFC 9180) base mode for Sigil's one suite: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256,
// AES-256-GCM. Composed on the platform seam ("#platform": node:crypto in Node, WebCrypto in
// browsers). The recipient's decapsulation goes through KeyBackend.deriveSharedSecret, so it
// runs inside an HSM or with a non-extractable WebCrypto key.
//
// Modes psk, auth and auth_psk (RFC 9180 §5.1.2-5.1.4) are not implemented: Sigil
// authenticates senders with a signature over the envelope header, not with HPKE auth mode.
// Everything beyond sealBase/openBase (key schedule with explicit keys, DeriveKeyPair,
// sequence-numbered contexts, export) is exported for the RFC 9180 vector tests and for
// deterministic vector generation; it is not part of the package API (index.ts).
import { platform as defaultPlatform } from '#platform';
import { p256 } from '@noble/curves/nist.js';
import { SigilError } from '../errors.js';
import type { DecryptionKeys, KeyRef } from '../backend/key-backend.js';
import { assertBytes, concatBytes } from './bytes.js';
import { checkP256PublicKey } from './p256.js';
import { hkdfExpand, hkdfExtract } from './platform/hkdf.js';
import type { AesGcmKey, CryptoPlatform, EcdhKeyPair } from './platform/types.js';

/** RFC 9180 §7.1: KEM id of DHKEM(P-256, HKDF-SHA256). */
export const HPKE_KEM_ID = 0x0010;
/** RFC 9180 §7.2: KDF id of HKDF-SHA256. */
export const HPKE_KDF_ID = 0x0001;
/** RFC 9180 §7.3: AEAD id of AES-256-GCM. */
export const HPKE_AEAD_ID = 0x0002;

/** The suite ids Sigil uses, one suite per format version. */
export const HPKE_SUITE_ID: { readonly kem: 0x0010; readonly kdf: 0x0001; readonly aead: 0x0002 } = Object.freeze({
  kem: 0x0010,
  kdf: 0x0001,
  aead: 0x0002,
});

/** Length of `enc` (Nenc) and of a public key (Npk): an uncompressed P-256 point. */
export const HPKE_ENC_LENGTH = 65;
/** AES-256-GCM key length (Nk). */
export const HPKE_KEY_LENGTH = 32;
/** AES-256-GCM nonce length (Nn). */
export const HPKE_NONCE_LENGTH = 12;
/** AES-256-GCM tag length (Nt): a ciphertext is `plaintext.length + 16` bytes. */
export const HPKE_TAG_LENGTH = 16;

/** The output of a single-shot seal: the encapsulated key and the AEAD ciphertext (with tag). */
export interface HpkeSealed {
  /** The sender's ephemeral public key, uncompressed P-256 (65 bytes). */
  readonly enc: Uint8Array;
  /** AES-256-GCM ciphertext followed by its 16-byte tag. */
  readonly ciphertext: Uint8Array;
}

/** Options for deterministic sealing; production callers pass none. */
export interface SealBaseOptions {
  /**
   * Input keying material for the ephemeral key pair, through DeriveKeyPair (RFC 9180 §7.1.3).
   * For test vectors and the format's deterministic vector script ONLY: reusing it with the
   * same recipient reuses the ephemeral key, which breaks confidentiality. Absent, the
   * ephemeral key comes from the platform's CSPRNG.
   */
  readonly ephemeralIkm?: Uint8Array | undefined;
}

const ENCODER = new TextEncoder();
// The labels are a handful of constants, encoded once each rather than on every seal.
const LABELS = new Map<string, Uint8Array>();
const ascii = (s: string): Uint8Array => {
  let bytes = LABELS.get(s);
  if (bytes === undefined) LABELS.set(s, (bytes = ENCODER.encode(s)));
  return bytes;
};
const EMPTY = new Uint8Array(0);

/** I2OSP(n, w) of RFC 8017 §4.1 for the small integers HPKE encodes (ids, lengths, counters). */
function i2osp(n: number, w: number): Uint8Array {
  const out = new Uint8Array(w);
  for (let i = w - 1, v = n; i >= 0 && v > 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  return out;
}

/** An AEAD of RFC 9180 §7.3 that the internal key schedule supports. */
export interface HpkeAead {
  readonly id: 0x0001 | 0x0002;
  /** Nk */
  readonly keyLength: 16 | 32;
}
/** Sigil's AEAD. */
export const AES_256_GCM: HpkeAead = Object.freeze({ id: 0x0002, keyLength: 32 });
/** Only for the DeriveKeyPair edge vector, which is published for AES-128-GCM. */
export const AES_128_GCM: HpkeAead = Object.freeze({ id: 0x0001, keyLength: 16 });

const HPKE_V1 = ascii('HPKE-v1');
// RFC 9180 §4.1: suite_id = "KEM" || I2OSP(kem_id, 2) inside the KEM.
const KEM_SUITE_ID = concatBytes(ascii('KEM'), i2osp(HPKE_KEM_ID, 2));
// RFC 9180 §5.1: suite_id = "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2).
function hpkeSuiteId(aead: HpkeAead): Uint8Array {
  return concatBytes(ascii('HPKE'), i2osp(HPKE_KEM_ID, 2), i2osp(HPKE_KDF_ID, 2), i2osp(aead.id, 2));
}
const SUITE_ID_AES_256_GCM = hpkeSuiteId(AES_256_GCM);

/** RFC 9180 §4: LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
export function labeledExtract(
  platform: CryptoPlatform,
  suiteId: Uint8Array,
  salt: Uint8Array,
  label: string,
  ikm: Uint8Array,
): Promise<Uint8Array> {
  return hkdfExtract(platform, 'SHA-256', salt, concatBytes(HPKE_V1, suiteId, ascii(label), ikm));
}

/** RFC 9180 §4: LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L). */
export function labeledExpand(
  platform: CryptoPlatform,
  suiteId: Uint8Array,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  return hkdfExpand(platform, 'SHA-256', prk, concatBytes(i2osp(length, 2), HPKE_V1, suiteId, ascii(label), info), length);
}

/**
 * RFC 9180 §7.1.3 DeriveKeyPair for P-256: rejection sampling of a scalar in [1, n) from ikm.
 * The scalar-to-point multiplication is @noble/curves' (neither platform exposes it).
 * Returns skX as 32 big-endian bytes and pkX uncompressed (65 bytes).
 * @throws SigilError `E_FORMAT` if no candidate is accepted in 256 tries (probability ~2^-8192).
 */
export async function deriveKeyPair(
  ikm: Uint8Array,
  platform: CryptoPlatform = defaultPlatform,
): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array }> {
  assertBytes('ikm', ikm);
  const dkpPrk = await labeledExtract(platform, KEM_SUITE_ID, EMPTY, 'dkp_prk', ikm);
  const order = p256.Point.Fn.ORDER;
  for (let counter = 0; counter < 256; counter++) {
    const bytes = await labeledExpand(platform, KEM_SUITE_ID, dkpPrk, 'candidate', i2osp(counter, 1), 32);
    // bitmask is 0xff for P-256, so bytes[0] is kept whole.
    let sk = 0n;
    for (const b of bytes) sk = (sk << 8n) | BigInt(b);
    if (sk !== 0n && sk < order) return { privateKey: bytes, publicKey: p256.getPublicKey(bytes, false) };
  }
  throw new SigilError('E_FORMAT', 'DeriveKeyPair found no valid P-256 scalar.');
}

function checkDh(dh: Uint8Array): Uint8Array {
  // RFC 9180 §7.1.4: an all-zero DH output means the peer key was bad. Unreachable with a
  // validated P-256 point of prime order, checked anyway because it costs nothing.
  if (dh.every((b) => b === 0)) throw new SigilError('E_BAD_PUBLIC_KEY', 'The P-256 public key gave an invalid shared secret.');
  return dh;
}

/** RFC 9180 §4.1 ExtractAndExpand(dh, kem_context). */
async function extractAndExpand(platform: CryptoPlatform, dh: Uint8Array, kemContext: Uint8Array): Promise<Uint8Array> {
  const eaePrk = await labeledExtract(platform, KEM_SUITE_ID, EMPTY, 'eae_prk', dh);
  return labeledExpand(platform, KEM_SUITE_ID, eaePrk, 'shared_secret', kemContext, 32);
}

/**
 * RFC 9180 §4.1 Encap(pkR). The ephemeral key pair is fresh from the platform unless given
 * (test vectors: from {@link deriveKeyPair} through `platform.importEcdhKeyPair`).
 * @throws SigilError `E_BAD_PUBLIC_KEY` if pkR is not an uncompressed point on P-256.
 */
export async function encap(
  recipientPublicKey: Uint8Array,
  ephemeral?: EcdhKeyPair,
  platform: CryptoPlatform = defaultPlatform,
): Promise<{ sharedSecret: Uint8Array; enc: Uint8Array }> {
  checkP256PublicKey(recipientPublicKey);
  return encapChecked(recipientPublicKey, ephemeral, platform);
}

/** {@link encap} for a pkR that the caller has ALREADY validated with checkP256PublicKey. */
async function encapChecked(
  recipientPublicKey: Uint8Array,
  ephemeral: EcdhKeyPair | undefined,
  platform: CryptoPlatform,
): Promise<{ sharedSecret: Uint8Array; enc: Uint8Array }> {
  const e = ephemeral ?? (await platform.generateEcdhKeyPair());
  const dh = checkDh(await e.deriveSharedSecret(recipientPublicKey));
  const enc = e.publicKey;
  return { sharedSecret: await extractAndExpand(platform, dh, concatBytes(enc, recipientPublicKey)), enc };
}

/** The private half of an HPKE recipient: where its ECDH key is (a KeyBackend, or any DecryptionKeys) and the key. */
export interface HpkeRecipient {
  readonly backend: Pick<DecryptionKeys, 'deriveSharedSecret'>;
  readonly ref: KeyRef;
}

/**
 * RFC 9180 §4.1 Decap(enc, skR), with DH(skR, pkE) done by the recipient's KeyBackend.
 * @throws SigilError `E_BAD_PUBLIC_KEY` if enc is not an uncompressed point on P-256.
 */
export async function decap(
  recipient: HpkeRecipient,
  enc: Uint8Array,
  platform: CryptoPlatform = defaultPlatform,
): Promise<Uint8Array> {
  checkP256PublicKey(enc);
  const dh = checkDh(await recipient.backend.deriveSharedSecret(recipient.ref, enc));
  return extractAndExpand(platform, dh, concatBytes(enc, recipient.ref.publicKey));
}

/** What RFC 9180 §5.1 KeySchedule derives, for the vector tests. */
export interface KeyScheduleValues {
  readonly keyScheduleContext: Uint8Array;
  readonly secret: Uint8Array;
  readonly key: Uint8Array;
  readonly baseNonce: Uint8Array;
}

let pskIdHashCache: Promise<Uint8Array> | undefined;

/** RFC 9180 §5.1 KeySchedule<ROLE>(mode_base, shared_secret, info, default_psk, default_psk_id). */
export async function keyScheduleBase(
  sharedSecret: Uint8Array,
  info: Uint8Array,
  aead: HpkeAead = AES_256_GCM,
  platform: CryptoPlatform = defaultPlatform,
): Promise<HpkeContext> {
  const suiteId = aead === AES_256_GCM ? SUITE_ID_AES_256_GCM : hpkeSuiteId(aead);
  // psk_id is empty in base mode, so psk_id_hash is a constant of the suite; cache Sigil's.
  const pskIdHash =
    aead === AES_256_GCM && platform === defaultPlatform
      ? await (pskIdHashCache ??= labeledExtract(platform, suiteId, EMPTY, 'psk_id_hash', EMPTY))
      : await labeledExtract(platform, suiteId, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = await labeledExtract(platform, suiteId, EMPTY, 'info_hash', info);
  const keyScheduleContext = concatBytes(i2osp(0x00, 1), pskIdHash, infoHash); // mode_base = 0x00
  const secret = await labeledExtract(platform, suiteId, sharedSecret, 'secret', EMPTY); // default_psk = ""
  const key = await labeledExpand(platform, suiteId, secret, 'key', keyScheduleContext, aead.keyLength);
  const baseNonce = await labeledExpand(platform, suiteId, secret, 'base_nonce', keyScheduleContext, HPKE_NONCE_LENGTH);
  return new HpkeContext(platform, suiteId, { keyScheduleContext, secret, key, baseNonce }, await platform.aesGcm(key));
}

/**
 * An RFC 9180 §5.2 encryption context: sequence-numbered Seal/Open and Export. One context is
 * used in one direction; calls must not overlap (each await finishes before the next call).
 */
export class HpkeContext {
  readonly #platform: CryptoPlatform;
  readonly #suiteId: Uint8Array;
  readonly #aead: AesGcmKey;
  readonly #values: KeyScheduleValues;
  #seq = 0;
  #exporterSecret: Promise<Uint8Array> | undefined;

  /** @internal use {@link keyScheduleBase}, {@link setupBaseS} or {@link setupBaseR}. */
  constructor(platform: CryptoPlatform, suiteId: Uint8Array, values: KeyScheduleValues, aead: AesGcmKey) {
    this.#platform = platform;
    this.#suiteId = suiteId;
    this.#values = values;
    this.#aead = aead;
  }

  /** The key schedule's intermediate values (secret material: for vector tests only). */
  get keySchedule(): KeyScheduleValues {
    return this.#values;
  }

  /** The next sequence number. */
  get sequenceNumber(): number {
    return this.#seq;
  }

  /** RFC 9180 §5.2 ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn). */
  #nextNonce(): Uint8Array {
    // The RFC's limit is 2^96 - 1 messages; a JS number counts exactly to 2^53 - 1.
    if (this.#seq >= Number.MAX_SAFE_INTEGER) throw new RangeError('HPKE context message limit reached');
    const nonce = i2osp(this.#seq, HPKE_NONCE_LENGTH);
    for (let i = 0; i < HPKE_NONCE_LENGTH; i++) nonce[i]! ^= this.#values.baseNonce[i]!;
    return nonce;
  }

  /** RFC 9180 §5.2 ContextS.Seal(aad, pt); increments the sequence number. */
  async seal(aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    const nonce = this.#nextNonce();
    this.#seq++;
    return this.#aead.seal(nonce, plaintext, aad);
  }

  /**
   * RFC 9180 §5.2 ContextR.Open(aad, ct); increments the sequence number only on success.
   * @throws SigilError `E_AUTH_FAILED` if the ciphertext does not authenticate.
   */
  async open(aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
    const plaintext = await this.#aead.open(this.#nextNonce(), ciphertext, aad);
    this.#seq++;
    return plaintext;
  }

  /** The exporter secret (computed on first use: Sigil's sealBase never needs it). */
  exporterSecret(): Promise<Uint8Array> {
    return (this.#exporterSecret ??= labeledExpand(
      this.#platform,
      this.#suiteId,
      this.#values.secret,
      'exp',
      this.#values.keyScheduleContext,
      32, // Nh of HKDF-SHA256
    ));
  }

  /** RFC 9180 §5.3 Context.Export(exporter_context, L). */
  async export(exporterContext: Uint8Array, length: number): Promise<Uint8Array> {
    return labeledExpand(this.#platform, this.#suiteId, await this.exporterSecret(), 'sec', exporterContext, length);
  }
}

/**
 * RFC 9180 §5.1.1 SetupBaseS(pkR, info).
 * @throws SigilError `E_BAD_PUBLIC_KEY` if pkR is not an uncompressed point on P-256.
 */
export async function setupBaseS(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  options: SealBaseOptions = {},
  platform: CryptoPlatform = defaultPlatform,
): Promise<{ enc: Uint8Array; context: HpkeContext }> {
  checkP256PublicKey(recipientPublicKey);
  return setupBaseSChecked(recipientPublicKey, info, options, platform);
}

/** {@link setupBaseS} for a pkR that the caller has ALREADY validated with checkP256PublicKey. */
async function setupBaseSChecked(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  options: SealBaseOptions,
  platform: CryptoPlatform,
): Promise<{ enc: Uint8Array; context: HpkeContext }> {
  let ephemeral: EcdhKeyPair | undefined;
  if (options.ephemeralIkm !== undefined) {
    const pair = await deriveKeyPair(options.ephemeralIkm, platform);
    ephemeral = await platform.importEcdhKeyPair(pair.privateKey, pair.publicKey);
  }
  const { sharedSecret, enc } = await encapChecked(recipientPublicKey, ephemeral, platform);
  return { enc, context: await keyScheduleBase(sharedSecret, info, AES_256_GCM, platform) };
}

/**
 * RFC 9180 §5.1.1 SetupBaseR(enc, skR), with skR inside `recipient.backend`.
 * @throws SigilError `E_BAD_PUBLIC_KEY` if enc is not an uncompressed point on P-256.
 */
export async function setupBaseR(
  recipient: HpkeRecipient,
  enc: Uint8Array,
  info: Uint8Array,
  platform: CryptoPlatform = defaultPlatform,
): Promise<HpkeContext> {
  return keyScheduleBase(await decap(recipient, enc, platform), info, AES_256_GCM, platform);
}

/**
 * HPKE SealBase (RFC 9180 §6.1, single-shot; sequence number 0) to `recipientPublicKey`.
 *
 * @param recipientPublicKey - pkR, 65-byte uncompressed P-256 point, validated first.
 * @param info - application info bound into the key schedule (RFC 9180 §5.1).
 * @param aad - additional authenticated data for the AEAD.
 * @throws SigilError `E_BAD_PUBLIC_KEY` if `recipientPublicKey` is not an uncompressed point on P-256.
 * @throws TypeError if an argument is not a Uint8Array.
 */
export async function sealBase(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  options: SealBaseOptions = {},
): Promise<HpkeSealed> {
  assertBytes('recipientPublicKey', recipientPublicKey);
  assertBytes('info', info);
  assertBytes('aad', aad);
  assertBytes('plaintext', plaintext);
  checkP256PublicKey(recipientPublicKey);
  return sealBaseChecked(recipientPublicKey, info, aad, plaintext, options);
}

/**
 * {@link sealBase} for a recipient key that the caller has ALREADY validated with
 * checkP256PublicKey, on bytes it owns: the envelope validates each recipient once, when it
 * computes the key id, and seals to hundreds of them, so a second validation per key would be
 * pure cost (FORMAT.md §3.2). Not part of the package API; arguments are not re-checked.
 */
export async function sealBaseChecked(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  options: SealBaseOptions = {},
): Promise<HpkeSealed> {
  const { enc, context } = await setupBaseSChecked(recipientPublicKey, info, options, defaultPlatform);
  return { enc, ciphertext: await context.seal(aad, plaintext) };
}

/**
 * HPKE OpenBase (RFC 9180 §6.1, single-shot; sequence number 0). Decap runs through
 * `recipient.backend.deriveSharedSecret(recipient.ref, enc)`, so the private key never leaves
 * its backend.
 *
 * @throws SigilError `E_BAD_PUBLIC_KEY` if `enc` is not an uncompressed point on P-256.
 * @throws SigilError `E_AUTH_FAILED` if the AEAD tag does not verify (wrong key, wrong info or
 *   aad, tampered ciphertext). No plaintext is returned.
 * @throws SigilError `E_KEY_NOT_FOUND` / `E_KEY_USAGE` (from the backend) if the ref is not an
 *   agree key of that backend.
 * @throws TypeError if an argument is not a Uint8Array.
 */
export async function openBase(
  recipient: HpkeRecipient,
  enc: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  assertBytes('enc', enc);
  assertBytes('info', info);
  assertBytes('aad', aad);
  assertBytes('ciphertext', ciphertext);
  const context = await setupBaseR(recipient, enc, info);
  return context.open(aad, ciphertext);
}
