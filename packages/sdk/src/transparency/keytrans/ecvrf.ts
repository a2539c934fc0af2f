// ECVRF-P256-SHA256-TAI (RFC 9381 §5, suite_string 0x01), the VRF of KEYTRANS suite
// KT_128_SHA256_P256. No maintained RFC 9381 implementation exists on npm, so it is composed
// here, step by step as the RFC writes it, on audited primitives: P-256 arithmetic from
// @noble/curves (constant-time `multiply` wherever the secret scalar or the nonce is involved),
// SHA-256 and HMAC from @noble/hashes, and the RFC 6979 §3.2 HMAC-DRBG from @noble/curves.
// Proven by RFC 9381 Appendix B.1 (Examples 10-12, every intermediate value) and by the
// KEYTRANS interop vectors (test/vectors/keytrans/SOURCES.md).
//
// What is left to the caller: where the secret key lives. Proving needs the scalar itself, so
// the key cannot sit in a PKCS#11 token like the log's signing key (docs/TRANSPARENCY.md,
// "Verifiable map (KEYTRANS)").
//
// The functions beyond prove / verify / proofToHash / publicKey are exported for the RFC's
// intermediate-value tests; they are not part of the package API (keytrans/index.ts).
import { p256 } from '@noble/curves/nist.js';
import { bytesToNumberBE, createHmacDrbg, numberToBytesBE } from '@noble/curves/utils.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { SigilError } from '../../errors.js';
import { assertBytes, concatBytes } from '../../internal/bytes.js';
import { KT_VRF_PROOF_LENGTH, KT_VRF_PUBLIC_KEY_LENGTH } from './suite.js';

const Point = p256.Point;
type Point = InstanceType<typeof Point>;
const Fn = Point.Fn;
/** q, the prime order of the group (cofactor 1 on P-256, RFC 9381 §5.5). */
const ORDER = Fn.ORDER;

/** RFC 9381 §5.5: suite_string of ECVRF-P256-SHA256-TAI. */
export const ECVRF_P256_SUITE_STRING = 0x01;
/** ptLen: a SEC1 compressed point, fLen + 1. */
const PT_LEN = KT_VRF_PUBLIC_KEY_LENGTH;
/** cLen = 16 (RFC 9381 §5.5). */
const C_LEN = 16;
/** qLen = 32. */
const Q_LEN = 32;

const SUITE = Uint8Array.of(ECVRF_P256_SUITE_STRING);
// Domain separators, RFC 9381 §5.2, §5.4.1.1, §5.4.3: each hash starts with suite_string and a
// front octet of its own (0x01 encode, 0x02 challenge, 0x03 proof_to_hash) and ends with 0x00.
const ENCODE_FRONT = Uint8Array.of(0x01);
const CHALLENGE_FRONT = Uint8Array.of(0x02);
const PROOF_TO_HASH_FRONT = Uint8Array.of(0x03);
const BACK = Uint8Array.of(0x00);
// RFC 9381 §5.5: interpret_hash_value_as_a_point(s) = string_to_point(0x02 || s).
const EVEN_Y = Uint8Array.of(0x02);

/**
 * The VRF secret scalar x of a 32-byte big-endian secret key (RFC 9381 §5.5: x = SK).
 * @throws RangeError if the key is not 32 bytes or not in [1, q-1] (a key to fix, not a condition).
 */
function secretScalar(secretKey: Uint8Array): bigint {
  assertBytes('secretKey', secretKey, Q_LEN);
  const x = bytesToNumberBE(secretKey);
  if (x === 0n || x >= ORDER) throw new RangeError('"secretKey" expected a P-256 scalar in [1, n-1]');
  return x;
}

/** RFC 9381 §5.5 point_to_string: SEC1 §2.3.3 with point compression (33 bytes). */
function pointToString(point: Point): Uint8Array {
  return point.toBytes(true);
}

/**
 * RFC 9381 §5.5 string_to_point, restricted to the one canonical form this suite uses: a
 * 33-byte SEC1 §2.3.4 compressed point with x < p on the curve. Anything else, including the
 * uncompressed form of a valid point and the 1-byte identity, is INVALID (undefined).
 */
function stringToPoint(bytes: Uint8Array): Point | undefined {
  if (bytes.length !== PT_LEN || (bytes[0] !== 0x02 && bytes[0] !== 0x03)) return undefined;
  try {
    const point = Point.fromBytes(bytes);
    point.assertValidity();
    return point;
  } catch {
    return undefined; // x >= p, or x^3 + ax + b is not a square mod p
  }
}

/**
 * The public key Y = x*B of a secret key, as point_to_string(Y) (33 bytes, compressed).
 * @throws RangeError if `secretKey` is not a 32-byte scalar in [1, q-1].
 */
export function ecvrfPublicKey(secretKey: Uint8Array): Uint8Array {
  return pointToString(Point.BASE.multiply(secretScalar(secretKey)));
}

/**
 * RFC 9381 §5.4.1.1 ECVRF_encode_to_curve_try_and_increment, with encode_to_curve_salt =
 * PK_string (§5.5). Returns H and the ctr that produced it (the Appendix B vectors print it).
 * Its running time depends on alpha (§5.4.1.1): alpha here is a label and version the verifier
 * knows anyway, never a secret.
 */
export function ecvrfEncodeToCurve(publicKey: Uint8Array, alpha: Uint8Array): { point: Point; ctr: number } {
  // ctr is one octet; each try succeeds with probability about 1/2, so 256 failures have
  // probability about 2^-256 (§5.4.1.1, note after the steps).
  for (let ctr = 0; ctr < 256; ctr++) {
    const hash = sha256(concatBytes(SUITE, ENCODE_FRONT, publicKey, alpha, Uint8Array.of(ctr), BACK));
    const point = stringToPoint(concatBytes(EVEN_Y, hash));
    // Cofactor 1: no clearing; a decoded compressed point is never the identity.
    if (point !== undefined) return { point, ctr };
  }
  throw new Error('ECVRF encode_to_curve exhausted its 256 tries');
}

/**
 * RFC 9381 §5.4.2.1 nonce generation: RFC 6979 §3.2 with m = h_string, hash SHA-256 and x the
 * secret scalar, without the "suitable for ECDSA" check of step h.3. With qlen = hlen = 256,
 * bits2int is OS2IP and bits2octets(h1) is I2OSP(OS2IP(h1) mod q, 32).
 */
export function ecvrfNonce(secretKey: Uint8Array, hString: Uint8Array): bigint {
  const x = secretScalar(secretKey);
  const h1 = sha256(hString);
  const seed = concatBytes(numberToBytesBE(x, Q_LEN), numberToBytesBE(bytesToNumberBE(h1) % ORDER, Q_LEN));
  const drbg = createHmacDrbg<bigint>(32, Q_LEN, (key: Uint8Array, message: Uint8Array) => hmac(sha256, key, message));
  // Step h.3: the first candidate T with 1 <= k <= q-1 is k.
  return drbg(seed, (t) => {
    const k = bytesToNumberBE(t);
    return k > 0n && k < ORDER ? k : undefined;
  });
}

/** RFC 9381 §5.4.3 ECVRF_challenge_generation(P1, ..., P5): the first cLen octets of the hash, as an integer. */
function challenge(points: readonly Point[]): bigint {
  const hash = sha256(concatBytes(SUITE, CHALLENGE_FRONT, ...points.map(pointToString), BACK));
  return bytesToNumberBE(hash.subarray(0, C_LEN));
}

/** The intermediate values of one proof, for the Appendix B vector tests. */
export interface EcvrfProofTrace {
  readonly ctr: number;
  readonly h: Uint8Array;
  readonly k: bigint;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
  readonly proof: Uint8Array;
}

/** {@link ecvrfProve} with its intermediate values (RFC 9381 §5.1 steps 2-8). Secret material: tests only. */
export function ecvrfProveTrace(secretKey: Uint8Array, alpha: Uint8Array): EcvrfProofTrace {
  assertBytes('alpha', alpha);
  // 1. x and Y = x*B.
  const x = secretScalar(secretKey);
  const y = Point.BASE.multiply(x);
  // 2-3. H = encode_to_curve(PK_string, alpha), h_string = point_to_string(H).
  const { point: h, ctr } = ecvrfEncodeToCurve(pointToString(y), alpha);
  const hString = pointToString(h);
  // 4. Gamma = x*H.
  const gamma = h.multiply(x);
  // 5. k = nonce_generation(SK, h_string).
  const k = ecvrfNonce(secretKey, hString);
  // 6. c = challenge_generation(Y, H, Gamma, k*B, k*H).
  const u = Point.BASE.multiply(k);
  const v = h.multiply(k);
  const c = challenge([y, h, gamma, u, v]);
  // 7. s = (k + c*x) mod q.
  const s = Fn.add(k, Fn.mul(c, x));
  // 8. pi_string = point_to_string(Gamma) || int_to_string(c, cLen) || int_to_string(s, qLen).
  const proof = concatBytes(pointToString(gamma), numberToBytesBE(c, C_LEN), numberToBytesBE(s, Q_LEN));
  return { ctr, h: hString, k, u: pointToString(u), v: pointToString(v), proof };
}

/**
 * ECVRF_prove (RFC 9381 §5.1) for ECVRF-P256-SHA256-TAI: the proof pi (81 bytes) that
 * {@link ecvrfProofToHash} turns into the output. Deterministic: the same key and input give
 * the same proof.
 *
 * @param secretKey - SK = x, 32 bytes big-endian, in [1, q-1].
 * @param alpha - the VRF input.
 * @throws RangeError if `secretKey` is not a valid scalar; TypeError if an argument is not bytes.
 * @example
 * ```ts
 * const proof = ecvrfProve(secretKey, alpha);
 * const output = ecvrfVerify(ecvrfPublicKey(secretKey), alpha, proof); // === ecvrfProofToHash(proof)
 * ```
 */
export function ecvrfProve(secretKey: Uint8Array, alpha: Uint8Array): Uint8Array {
  return ecvrfProveTrace(secretKey, alpha).proof;
}

/** RFC 9381 §5.4.4 ECVRF_decode_proof; undefined is INVALID. */
function decodeProof(proof: Uint8Array): { gamma: Point; c: bigint; s: bigint } | undefined {
  if (proof.length !== KT_VRF_PROOF_LENGTH) return undefined;
  const gamma = stringToPoint(proof.subarray(0, PT_LEN));
  if (gamma === undefined) return undefined;
  const c = bytesToNumberBE(proof.subarray(PT_LEN, PT_LEN + C_LEN));
  const s = bytesToNumberBE(proof.subarray(PT_LEN + C_LEN));
  if (s >= ORDER) return undefined; // step 8: a non-canonical s
  return { gamma, c, s };
}

/** RFC 9381 §5.2 steps 4-7, on a decoded Gamma (cofactor 1: cofactor * Gamma = Gamma). */
function gammaToHash(gamma: Point): Uint8Array {
  return sha256(concatBytes(SUITE, PROOF_TO_HASH_FRONT, pointToString(gamma), BACK));
}

/**
 * ECVRF_proof_to_hash (RFC 9381 §5.2): the VRF output beta (32 bytes) of a proof. As the RFC
 * says, use it only on a proof you made or one {@link ecvrfVerify} accepted: it checks the
 * proof's encoding, not that it is a proof for any key or input.
 *
 * @throws SigilError `E_FORMAT` if the proof does not decode (§5.4.4 INVALID).
 */
export function ecvrfProofToHash(proof: Uint8Array): Uint8Array {
  assertBytes('proof', proof);
  const decoded = decodeProof(proof);
  if (decoded === undefined) throw new SigilError('E_FORMAT', 'The ECVRF proof does not decode (RFC 9381 §5.4.4).');
  return gammaToHash(decoded.gamma);
}

/**
 * ECVRF_verify (RFC 9381 §5.3) with validate_key = TRUE, the only option implemented (§5.3
 * asks an implementation to say which): the VRF output beta (32 bytes) if `proof` proves
 * `alpha` under `publicKey`, else `undefined`. Every INVALID of the RFC is `undefined`, never an
 * exception: a public key that is not a 33-byte compressed point on P-256, a proof that is not
 * 81 bytes, a Gamma off the curve or not canonical, s >= q, or a challenge that does not match.
 *
 * @throws TypeError if an argument is not a Uint8Array.
 * @example
 * ```ts
 * const output = ecvrfVerify(vrfPublicKey, alpha, proof);
 * if (output === undefined) throw new Error('not a VRF proof for this input');
 * ```
 */
export function ecvrfVerify(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array): Uint8Array | undefined {
  assertBytes('publicKey', publicKey);
  assertBytes('alpha', alpha);
  assertBytes('proof', proof);
  // 1-3. Y = string_to_point(PK_string); validate_key: Y is not the identity (cofactor 1), which
  // a decoded compressed point never is.
  const y = stringToPoint(publicKey);
  if (y === undefined || y.is0()) return undefined;
  // 4-6. (Gamma, c, s) = decode_proof(pi).
  const decoded = decodeProof(proof);
  if (decoded === undefined) return undefined;
  const { gamma, c, s } = decoded;
  // 7. H = encode_to_curve(PK_string, alpha).
  const { point: h } = ecvrfEncodeToCurve(publicKey, alpha);
  // 8-9. U = s*B - c*Y, V = s*H - c*Gamma. Everything here is public: the variable-time
  // multiplication is safe, and it accepts the scalar 0 that a forged proof may carry.
  const u = Point.BASE.multiplyUnsafe(s).subtract(y.multiplyUnsafe(c));
  const v = h.multiplyUnsafe(s).subtract(gamma.multiplyUnsafe(c));
  // An honest U = k*B or V = k*H is never the identity (k in [1, q-1], H of prime order), and the
  // identity has no 33-byte encoding to hash: such a proof is INVALID.
  if (u.is0() || v.is0()) return undefined;
  // 10-11. c' = challenge(Y, H, Gamma, U, V); valid iff c = c'.
  if (challenge([y, h, gamma, u, v]) !== c) return undefined;
  return gammaToHash(gamma);
}
