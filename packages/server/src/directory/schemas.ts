// The zod schemas of the directory API (docs/DIRECTORY.md, "API"): they validate every
// request and generate /v1/openapi.json. Byte fields are base64url without padding and parse to
// Uint8Array; integers in queries are canonical decimal strings.
import { z } from '@hono/zod-openapi';
import { STATEMENT_LIMITS, USER_KEY_WRAP_LENGTH } from '@sigil/sdk/identity';
import { b64uBytes } from './b64.js';
import { MAX_SIGNED_STATEMENT_BYTES } from '../store/store.js';

/** Account ids as statements carry them: 1..128 visible ASCII characters (docs/STATEMENTS.md §3.1). */
export const AccountId = z
  .string()
  .min(1)
  .max(STATEMENT_LIMITS.accountIdBytes)
  .regex(/^[\x21-\x7e]+$/)
  .openapi({ description: '1 to 128 visible ASCII characters, e.g. alice@example.com', example: 'alice@example.com' });

/** A non-negative integer in decimal, no sign, no leading zeros, at most 2^53 - 1. */
const DecimalInt = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/)
  .transform((s, ctx) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n)) {
      ctx.addIssue({ code: 'custom', message: 'out of range' });
      return z.NEVER;
    }
    return n;
  })
  .openapi({ type: 'string', pattern: '^(0|[1-9][0-9]*)$', example: '0' });

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .openapi('Error');

const B64 = (description: string) => z.string().openapi({ format: 'base64url', description });

// Log
export const CheckpointResponse = z.object({ note: z.string().openapi({ description: 'C2SP signed note (tlog-checkpoint)' }) }).openapi('Checkpoint');
export const InclusionQuery = z.object({ index: DecimalInt, size: DecimalInt });
export const InclusionResponse = z.object({ index: z.number().int(), size: z.number().int(), hashesB64: z.array(B64('SHA-256 node')) }).openapi('InclusionProof');
export const ConsistencyQuery = z.object({ from: DecimalInt, to: DecimalInt });
export const ConsistencyResponse = z.object({ from: z.number().int(), to: z.number().int(), hashesB64: z.array(B64('SHA-256 node')) }).openapi('ConsistencyProof');
export const LogKeyResponse = z
  .object({ origin: z.string(), publicKeyB64: B64('uncompressed P-256 point'), vkey: z.string() })
  .openapi('LogKey');

// Accounts and statements
export const AccountParams = z.object({ id: AccountId });
export const AccountResponse = z
  .object({
    accountId: z.string(),
    kind: z.enum(['user', 'service']),
    checkpoint: z.string(),
    statements: z.array(
      z.object({
        leafIndex: z.number().int(),
        statementB64: B64('signed statement (docs/STATEMENTS.md §6)'),
        inclusionB64: B64("the leaf's audit path against `checkpoint` (RFC 9162 §2.1.3.1, bottom-up): its SHA-256 node hashes concatenated, 32 bytes each"),
      }),
    ),
  })
  .openapi('Account');

/** A statement commits to at most 1024 device wraps plus one chain link. */
const MAX_BLOBS = STATEMENT_LIMITS.maxEpochWraps + 1;

export const StatementRequest = z
  .object({
    statementB64: b64uBytes(1, MAX_SIGNED_STATEMENT_BYTES, 'signed statement (docs/STATEMENTS.md §6)'),
    blobs: z
      .array(z.object({ dataB64: b64uBytes(1, 4 * USER_KEY_WRAP_LENGTH, 'a wrap blob the statement commits to by SHA-256') }))
      .max(MAX_BLOBS)
      .optional(),
  })
  .openapi('StatementSubmission');
export const StatementResponse = z.object({ leafIndex: z.number().int(), checkpoint: z.string() }).openapi('StatementAccepted');

export const BlobParams = z.object({ id: AccountId, hashB64: z.string().regex(/^[A-Za-z0-9_-]{43}$/).openapi({ description: 'base64url SHA-256 of the blob' }) });
export const BlobResponse = z.object({ dataB64: B64('the blob') }).openapi('Blob');

// Service accounts
export const ServiceChallengeRequest = z.object({ accountId: AccountId }).openapi('ServiceChallengeRequest');
export const ServiceChallengeResponse = z.object({ challengeB64: B64('32 random bytes'), expiresAt: z.number().int() }).openapi('ServiceChallenge');
export const ServiceSessionRequest = z
  .object({
    accountId: AccountId,
    challengeB64: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    signerKeyId: z.string().regex(/^[0-9a-f]{32}$/).openapi({ description: 'keyIdOf(public key), 32 lowercase hex' }),
    signatureB64: b64uBytes(64, 64, 'ECDSA P-256/SHA-256 signature, IEEE P1363 r || s'),
  })
  .openapi('ServiceSessionRequest');
export const SessionResponse = z.object({ token: z.string(), expiresAt: z.number().int() }).openapi('Session');

// WebAuthn (@simplewebauthn/server JSON shapes; the library checks the contents)
const WB64 = z.string().min(1).max(16_384).regex(/^[A-Za-z0-9_-]+$/);
const Transports = z.array(z.string().max(32)).max(8);
export const RegisterOptionsRequest = z
  .object({ accountId: AccountId, displayName: z.string().min(1).max(64) })
  .openapi('WebAuthnRegisterOptionsRequest');
export const OptionsResponse = z.object({ options: z.record(z.string(), z.unknown()) }).openapi('WebAuthnOptions');
export const RegistrationResponse = z
  .object({
    id: WB64.max(1024),
    rawId: WB64.max(1024),
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: WB64,
      attestationObject: WB64,
      authenticatorData: WB64.optional(),
      transports: Transports.optional(),
      publicKeyAlgorithm: z.number().int().optional(),
      publicKey: WB64.optional(),
    }),
    clientExtensionResults: z.record(z.string(), z.unknown()),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  })
  .openapi('RegistrationResponseJSON');
export const RegisterVerifyRequest = z.object({ accountId: AccountId, response: RegistrationResponse }).openapi('WebAuthnRegisterVerifyRequest');
export const RegisterVerifyResponse = z
  .object({
    token: z.string(),
    expiresAt: z.number().int(),
    credential: z.object({ idB64: B64('credential id'), publicKeyB64: B64('raw 65-byte P-256 public key') }),
  })
  .openapi('WebAuthnRegistered');
export const LoginOptionsRequest = z.object({ accountId: AccountId.optional() }).openapi('WebAuthnLoginOptionsRequest');
export const AuthenticationResponse = z
  .object({
    id: WB64.max(1024),
    rawId: WB64.max(1024),
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: WB64,
      authenticatorData: WB64,
      signature: WB64.max(200),
      userHandle: WB64.max(100).optional(),
    }),
    clientExtensionResults: z.record(z.string(), z.unknown()),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  })
  .openapi('AuthenticationResponseJSON');
export const LoginVerifyRequest = z.object({ response: AuthenticationResponse }).openapi('WebAuthnLoginVerifyRequest');
export const LoginVerifyResponse = z.object({ token: z.string(), expiresAt: z.number().int(), accountId: z.string() }).openapi('WebAuthnSession');

// Mailbox
export const MailboxPostParams = z.object({ recipientId: AccountId });
export const MailboxPostRequest = z.object({ envelopeB64: z.string().min(1).regex(/^[A-Za-z0-9_-]+$/).openapi({ format: 'base64url' }) }).openapi('MailboxPost');
export const MailboxPostResponse = z.object({ id: z.number().int() }).openapi('MailboxPosted');
export const MailboxListQuery = z.object({ after: DecimalInt.optional(), limit: DecimalInt.optional() });
export const MailboxListResponse = z
  .object({
    messages: z.array(z.object({ id: z.number().int(), senderId: z.string(), envelopeB64: z.string(), createdAt: z.number().int() })),
  })
  .openapi('MailboxMessages');
export const MailboxDeleteParams = z.object({ id: DecimalInt });

export const HealthResponse = z.object({ ok: z.literal(true), treeSize: z.number().int() }).openapi('Health');
