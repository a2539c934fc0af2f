// The project's own format-v2 vectors (packages/sdk/test/vectors/envelope-v2.json): the file is
// exactly what the checked-in generator produces, and every case decrypts (one-shot and
// streamed) to its expected outcome with the keys imported non-extractable into WebCrypto.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SigilError, WebCryptoKeyBackend, decrypt, decryptStream, type KeyBackend } from '@sigil/sdk';
import { fromHex, toBase64Url, toHex } from '../src/internal/bytes.js';
import {
  VECTORS_PATH,
  generateEnvelopeVectors,
  serialize,
  type KeyName,
  type VectorCase,
  type VectorFile,
} from '../scripts/gen-envelope-vectors.js';
import { runStream } from './envelope-support.js';

const file = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as VectorFile;
const backends = new Map<KeyName, WebCryptoKeyBackend>();

beforeAll(async () => {
  for (const [name, key] of Object.entries(file.keys) as [KeyName, VectorFile['keys'][KeyName]][]) {
    const pub = fromHex(key.publicKey);
    const jwk = { kty: 'EC', crv: 'P-256', x: toBase64Url(pub.subarray(1, 33)), y: toBase64Url(pub.subarray(33)) };
    const algorithm = { name: key.usage === 'sign' ? 'ECDSA' : 'ECDH', namedCurve: 'P-256' };
    const privateKey = await crypto.subtle.importKey('jwk', { ...jwk, d: toBase64Url(fromHex(key.privateKey)) }, algorithm, false, key.usage === 'sign' ? ['sign'] : ['deriveBits']);
    const publicKey = await crypto.subtle.importKey('jwk', jwk, algorithm, true, key.usage === 'sign' ? ['verify'] : []);
    const backend = new WebCryptoKeyBackend();
    const ref = await backend.adoptKeyPair({ privateKey, publicKey, usage: key.usage, label: name });
    expect(ref.id).toBe(key.keyId);
    backends.set(name, backend);
  }
});

describe('envelope-v2.json', () => {
  it('is exactly what packages/sdk/scripts/gen-envelope-vectors.ts generates', async () => {
    expect(serialize(await generateEnvelopeVectors())).toBe(readFileSync(VECTORS_PATH, 'utf8'));
  });

  it('covers every failure class of FORMAT.md §8 and has success cases', () => {
    const codes = new Set(file.tests.filter((t) => t.result === 'invalid').map((t) => t.error));
    for (const c of ['E_FORMAT', 'E_UNSUPPORTED_VERSION', 'E_LIMIT', 'E_NOT_RECIPIENT', 'E_AUTH_FAILED', 'E_BAD_SIGNATURE', 'E_TRUNCATED', 'E_BAD_PUBLIC_KEY']) {
      expect(codes).toContain(c);
    }
    expect(file.tests.filter((t) => t.result === 'valid').length).toBeGreaterThanOrEqual(10);
  });

  const cases: readonly VectorCase[] = file.tests;
  it.each(cases.map((t) => [`${t.tcId}: ${t.comment}`, t] as const))('%s', async (_, t) => {
    const keys: KeyBackend[] = t.keys.map((k) => backends.get(k)!);
    const options = {
      keys,
      ...(t.expectedSender === undefined ? {} : { expectedSender: fromHex(file.keys[t.expectedSender].publicKey) }),
      ...(t.recipientAccount === undefined ? {} : { recipientAccountId: t.recipientAccount }),
    };
    const envelope = fromHex(t.envelope);
    const streamed = await runStream(decryptStream(options), envelope, [100, 1, 4000]);
    if (t.result === 'valid') {
      const r = await decrypt(envelope, options);
      expect(toHex(r.plaintext)).toBe(t.plaintext);
      expect(r.sender.keyId).toBe(t.sender);
      expect(r.sender.accountId).toBe(t.senderAccount);
      expect(r.recipient).toEqual(t.recipient);
      expect(r.message).toEqual(t.message);
      expect(streamed.error).toBeUndefined();
      expect(toHex(streamed.output)).toBe(t.plaintext);
    } else {
      let error: unknown;
      await decrypt(envelope, options).then(
        () => {},
        (e: unknown) => (error = e),
      );
      expect(SigilError.is(error) && error.code).toBe(t.error);
      expect(SigilError.is(streamed.error) && streamed.error.code).toBe(t.error);
    }
  });
});
