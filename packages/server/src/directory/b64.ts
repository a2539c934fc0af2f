// base64url without padding (RFC 4648 §5), strictly: one spelling per byte string, so a
// request cannot smuggle bytes through a non-canonical encoding (unused bits set, padding,
// characters from the other alphabet).
import { z } from '@hono/zod-openapi';

const B64U = /^[A-Za-z0-9_-]*$/;

export function toB64u(bytes: Uint8Array): string {
  // A Buffer (audit paths, answers) encodes itself; a plain view is wrapped first, without a copy.
  if (Buffer.isBuffer(bytes)) return bytes.toString('base64url');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** The bytes of a canonical base64url string, or `undefined`. */
export function fromB64u(s: string): Uint8Array | undefined {
  if (!B64U.test(s) || s.length % 4 === 1) return undefined;
  const bytes = Buffer.from(s, 'base64url');
  return bytes.toString('base64url') === s ? new Uint8Array(bytes) : undefined;
}

/** Characters of the base64url form of `bytes` bytes. */
export function b64uLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

/**
 * A zod schema for a base64url field of `minBytes`..`maxBytes` bytes that parses to the bytes,
 * so handlers never see the text form.
 */
export function b64uBytes(minBytes: number, maxBytes: number, description: string) {
  return z
    .string()
    .min(b64uLength(minBytes))
    .max(b64uLength(maxBytes))
    .transform((s, ctx) => {
      const bytes = fromB64u(s);
      if (bytes === undefined || bytes.length < minBytes || bytes.length > maxBytes) {
        ctx.addIssue({ code: 'custom', message: 'expected canonical base64url' });
        return z.NEVER;
      }
      return bytes;
    })
    .openapi({ type: 'string', format: 'base64url', description });
}
