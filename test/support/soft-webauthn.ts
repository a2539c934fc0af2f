// A software WebAuthn authenticator plus client, used ONLY as a test double for the browser in
// Node tests. It makes an ES256 credential and produces, in the exact WebAuthn formats
// (W3C WebAuthn L3 §5.8.1 clientDataJSON, §6.1 authenticator data, §6.5 attestation object with
// fmt "none", §6.5.1.1 COSE_Key), registration responses and assertions that
// @simplewebauthn/server verifies. Its private key is an ordinary node:crypto key: never use
// it outside tests.
import { createHash, generateKeyPairSync, sign as nodeSign, randomBytes, type KeyObject } from 'node:crypto';
import { encodeCBOR } from '@levischuck/tiny-cbor';

export interface SoftWebAuthnOptions {
  readonly rpId: string;
  readonly origin: string;
  /** Set the UV flag (default true: a passkey with a PIN or biometric). */
  readonly userVerified?: boolean;
  /** Credential id length in bytes (default 32). */
  readonly credentialIdLength?: number;
}

/** What to change in one ceremony, for negative tests. */
export interface AssertionOverrides {
  readonly type?: string;
  readonly origin?: string;
  /** The RP ID whose hash goes into the authenticator data. */
  readonly rpId?: string;
  /** Replace the challenge (base64url) that goes into clientDataJSON. */
  readonly challengeB64?: string;
  /** Clear UP. */
  readonly userPresent?: boolean;
  readonly userVerified?: boolean;
  readonly crossOrigin?: boolean;
  /** Raw flags byte, overriding all flag options. */
  readonly flags?: number;
}

export interface SoftAssertion {
  readonly authenticatorData: Uint8Array;
  readonly clientDataJSON: Uint8Array;
  readonly signature: Uint8Array;
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** The challenge a Sigil client signs for the sign-in nonce `nonce` (contexts.ts, webAuthnSignInChallenge). */
export const signInChallenge = (nonce: Uint8Array): Uint8Array => sha256(Buffer.concat([Buffer.from('sigil/v2 webauthn-sign-in\0'), nonce]));

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

export class SoftWebAuthn {
  readonly rpId: string;
  readonly origin: string;
  readonly credentialId: Uint8Array;
  /** Uncompressed SEC1 P-256 public key (65 bytes). */
  readonly publicKey: Uint8Array;
  /** The same key as a COSE_Key (kty EC2, alg ES256, crv P-256), CTAP2 canonical CBOR. */
  readonly cosePublicKey: Uint8Array;
  readonly #privateKey: KeyObject;
  readonly #userVerified: boolean;
  #signCount = 0;

  constructor(options: SoftWebAuthnOptions) {
    this.rpId = options.rpId;
    this.origin = options.origin;
    this.#userVerified = options.userVerified ?? true;
    this.credentialId = new Uint8Array(randomBytes(options.credentialIdLength ?? 32));
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.#privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    const x = new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
    const y = new Uint8Array(Buffer.from(jwk.y!, 'base64url'));
    this.publicKey = new Uint8Array([4, ...x, ...y]);
    this.cosePublicKey = encodeCBOR(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, x],
        [-3, y],
      ]),
    );
  }

  #flags(o: AssertionOverrides, extra: number): number {
    if (o.flags !== undefined) return o.flags;
    let f = extra;
    if (o.userPresent ?? true) f |= UP;
    if (o.userVerified ?? this.#userVerified) f |= UV;
    return f;
  }

  #clientData(type: string, challengeB64: string, o: AssertionOverrides): Uint8Array {
    // Key order as browsers emit it (WebAuthn §5.8.1.1 serialization).
    return new TextEncoder().encode(
      JSON.stringify({ type: o.type ?? type, challenge: o.challengeB64 ?? challengeB64, origin: o.origin ?? this.origin, crossOrigin: o.crossOrigin ?? false }),
    );
  }

  #counter(): Uint8Array {
    this.#signCount += 1;
    const c = new Uint8Array(4);
    new DataView(c.buffer).setUint32(0, this.#signCount);
    return c;
  }

  /**
   * A registration ceremony with attestation "none": the RegistrationResponseJSON that
   * @simplewebauthn/browser would hand to the server.
   */
  register(challenge: Uint8Array, overrides: AssertionOverrides = {}) {
    const clientDataJSON = this.#clientData('webauthn.create', b64u(challenge), overrides);
    const idLen = Uint8Array.of(this.credentialId.length >> 8, this.credentialId.length & 0xff);
    const authData = new Uint8Array([
      ...sha256(overrides.rpId ?? this.rpId),
      this.#flags(overrides, AT),
      0, 0, 0, 0, // signCount 0 at creation
      ...new Uint8Array(16), // AAGUID: all zero for attestation "none" (§6.5.4)
      ...idLen,
      ...this.credentialId,
      ...this.cosePublicKey,
    ]);
    const attestationObject = encodeCBOR(
      new Map<string, string | Uint8Array | Map<string, string>>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', authData],
      ]),
    );
    return {
      id: b64u(this.credentialId),
      rawId: b64u(this.credentialId),
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64u(clientDataJSON),
        attestationObject: b64u(attestationObject),
        transports: ['internal' as const],
        publicKeyAlgorithm: -7,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform' as const,
    };
  }

  /** An assertion over `challenge` (raw bytes), as navigator.credentials.get() returns it. */
  assert(challenge: Uint8Array, overrides: AssertionOverrides = {}): SoftAssertion {
    const clientDataJSON = this.#clientData('webauthn.get', b64u(challenge), overrides);
    const authenticatorData = new Uint8Array([...sha256(overrides.rpId ?? this.rpId), this.#flags(overrides, 0), ...this.#counter()]);
    const signature = new Uint8Array(
      nodeSign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), { key: this.#privateKey, dsaEncoding: 'der' }),
    );
    return { authenticatorData, clientDataJSON, signature };
  }

  /** The same assertion as AuthenticationResponseJSON, for @simplewebauthn/server. */
  assertJSON(challenge: Uint8Array, overrides: AssertionOverrides = {}) {
    const a = this.assert(challenge, overrides);
    return {
      id: b64u(this.credentialId),
      rawId: b64u(this.credentialId),
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64u(a.clientDataJSON),
        authenticatorData: b64u(a.authenticatorData),
        signature: b64u(a.signature),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform' as const,
    };
  }

  /**
   * A sign-in as a Sigil client makes it: the server's login `challenge` is a nonce, and the
   * authenticator signs SHA-256("sigil/v2 webauthn-sign-in" || 0x00 || nonce) (docs/SECURITY.md,
   * "Signatures and their contexts"). Computed here with node:crypto, independently of the SDK.
   */
  signInJSON(nonce: Uint8Array, overrides: AssertionOverrides = {}) {
    return this.assertJSON(signInChallenge(nonce), overrides);
  }

  /** Callback shape of `signStatementWithWebAuthn`. */
  readonly getAssertion = async (challenge: Uint8Array): Promise<SoftAssertion> => this.assert(challenge);
}
