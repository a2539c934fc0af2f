// Loads the published test vectors vendored in test/vectors (origins, licences and checksums in
// test/vectors/SOURCES.md) and gives them types.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import type { KeyRef, WebCryptoKeyBackend } from '@sigil/sdk';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const vectorsRoot = resolve(repoRoot, 'test/vectors');

export function loadVectorJson<T>(relativePath: string): T {
  return JSON.parse(readFileSync(resolve(vectorsRoot, relativePath), 'utf8')) as T;
}

/** Hex to bytes (vectors are lowercase hex). */
export function hex(text: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(text)) throw new Error(`not lowercase hex of whole bytes: ${text.slice(0, 16)}...`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

const toBase64Url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const fromBase64Url = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));

// --- RFC 9180 (hpke/) ----------------------------------------------------------------------

export interface HpkeVector {
  readonly mode: number | string;
  readonly kem_id: number | string;
  readonly kdf_id: number | string;
  readonly aead_id: number | string;
  readonly info: string;
  readonly ikmR: string;
  readonly ikmE: string;
  readonly skRm: string;
  readonly skEm?: string;
  readonly pkRm: string;
  readonly pkEm: string;
  readonly enc: string;
  readonly shared_secret: string;
  readonly key_schedule_context?: string;
  readonly secret?: string;
  readonly key: string;
  readonly base_nonce: string;
  readonly exporter_secret: string;
  readonly rejected_candidate_counter0?: string;
  readonly encryptions: readonly { aad: string; ct: string; nonce: string; pt: string; seq?: number }[];
  readonly exports: readonly { exporter_context: string; L: number; exported_value: string }[];
}

export function loadHpkeVectors(file: string): HpkeVector[] {
  return loadVectorJson<HpkeVector[]>(`hpke/${file}`);
}

// --- Wycheproof (wycheproof/testvectors_v1/) -------------------------------------------------

export interface WycheproofTest {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly result: 'valid' | 'invalid' | 'acceptable';
  readonly [field: string]: unknown;
}

export interface WycheproofGroup<T extends WycheproofTest = WycheproofTest> {
  readonly type: string;
  readonly tests: readonly T[];
  readonly [field: string]: unknown;
}

export interface WycheproofFile<T extends WycheproofTest = WycheproofTest, G = WycheproofGroup<T>> {
  readonly algorithm: string;
  readonly numberOfTests: number;
  readonly notes: Record<string, { bugType: string; description: string }>;
  readonly testGroups: readonly G[];
}

export function loadWycheproof<T extends WycheproofTest, G extends WycheproofGroup<T> = WycheproofGroup<T>>(
  file: string,
): WycheproofFile<T, G> {
  return loadVectorJson<WycheproofFile<T, G>>(`wycheproof/testvectors_v1/${file}`);
}

/** Every test of a file with its group, in file order. */
export function wycheproofCases<T extends WycheproofTest, G extends WycheproofGroup<T>>(
  file: WycheproofFile<T, G>,
): { group: G; test: T }[] {
  return file.testGroups.flatMap((group) => group.tests.map((test) => ({ group, test })));
}

/** The vitest name of a case: `tcId ${tcId}: ${comment}`. */
export function caseName(test: WycheproofTest): string {
  return `tcId ${test.tcId}: ${test.comment}`;
}

/** C2SP chunked-encryption vectors carry `ct` as zlib-compressed hex. */
export function inflateHex(hexString: string): Uint8Array {
  return new Uint8Array(inflateSync(hex(hexString)));
}

// --- Putting a vector's private key into a KeyBackend ----------------------------------------


/**
 * Imports a published P-256 private scalar non-extractable and adopts it into `backend`, so
 * vector tests exercise the same KeyBackend path as production (decap by deriveSharedSecret).
 * `privateKey` may carry Wycheproof's leading 00 byte; `publicKey` is uncompressed (65 bytes).
 */
export async function adoptVectorKey(
  backend: WebCryptoKeyBackend,
  privateKey: Uint8Array,
  publicKey: Uint8Array,
  usage: 'agree' | 'sign' = 'agree',
  subtle: SubtleCrypto = globalThis.crypto.subtle,
): Promise<KeyRef> {
  let d = privateKey;
  while (d.length > 32 && d[0] === 0) d = d.subarray(1);
  if (d.length < 32) d = Uint8Array.from([...new Uint8Array(32 - d.length), ...d]);
  const algorithm = { name: usage === 'agree' ? 'ECDH' : 'ECDSA', namedCurve: 'P-256' };
  const x = toBase64Url(publicKey.subarray(1, 33));
  const y = toBase64Url(publicKey.subarray(33, 65));
  const priv = await subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', d: toBase64Url(d), x, y }, algorithm, false, usage === 'agree' ? ['deriveBits'] : ['sign']);
  const pub = await subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, algorithm, true, usage === 'agree' ? [] : ['verify']);
  return backend.adoptKeyPair({ privateKey: priv, publicKey: pub, usage, label: 'vector' });
}

/** A key of the Wycheproof ECDH `webcrypto` file (a JWK). */
export interface WycheproofJwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
  d?: string;
}

/** A case of the Wycheproof ECDH files: keys as hex SEC1 points (`ecpoint`) or JWKs (`webcrypto`). */
export interface EcdhTest<P> extends WycheproofTest {
  readonly public: P;
  readonly private: P;
  readonly shared: string;
}

/** A P-256 JWK in the SDK's wire form (65-byte uncompressed); undefined if it is not a P-256 EC JWK. */
export function jwkToRaw(jwk: WycheproofJwk): Uint8Array | undefined {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') return undefined;
  const x = fromBase64Url(jwk.x);
  const y = fromBase64Url(jwk.y);
  if (x?.length !== 32 || y?.length !== 32) return undefined;
  return Uint8Array.of(0x04, ...x, ...y);
}
