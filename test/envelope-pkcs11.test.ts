// A recipient whose key is in a PKCS#11 token (SoftHSM) decrypts exactly like one whose key is
// a WebCrypto key, and a sender can sign from the token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend, decrypt, decryptStream, encrypt, encryptStream, type KeyRef } from '@sigil/sdk';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { createSoftHsmTestToken, type SoftHsmTestToken } from '@sigil/hsm-adapter/testing';
import { caught, expectSigilError, pattern, runStream } from '../packages/sdk/test/envelope-support.js';

let token: SoftHsmTestToken;
let hsm: Pkcs11KeyBackend;
let hsmRecipient: KeyRef;
let hsmSigner: KeyRef;
let web: WebCryptoKeyBackend;
let webSigner: KeyRef;
let webRecipient: KeyRef;

beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-envelope' });
  hsm = await Pkcs11KeyBackend.open(token.location);
  hsmRecipient = await hsm.generateKeyPair({ usage: 'agree', label: 'recipient' });
  hsmSigner = await hsm.generateKeyPair({ usage: 'sign', label: 'sender' });
  web = new WebCryptoKeyBackend();
  webSigner = await web.generateKeyPair({ usage: 'sign', label: 'web-sender' });
  webRecipient = await web.generateKeyPair({ usage: 'agree', label: 'web-recipient' });
});

afterAll(async () => {
  await hsm?.close();
  await token?.remove();
});

describe('envelopes with PKCS#11 keys', () => {
  it('a recipient key in the token opens one-shot and streamed envelopes', async () => {
    const plaintext = pattern(5000, 21);
    const envelope = await encrypt(plaintext, { to: [{ publicKey: hsmRecipient.publicKey, epoch: 2 }, { publicKey: webRecipient.publicKey }], from: { backend: web, ref: webSigner }, chunkSize: 1024 });
    const opened = await decrypt(envelope, { keys: hsm });
    expect(opened.plaintext).toEqual(plaintext);
    expect(opened.recipient).toEqual({ keyId: hsmRecipient.id, epoch: 2 });
    expect((await decrypt(envelope, { keys: web })).plaintext).toEqual(plaintext);
    const s = await runStream(decryptStream({ keys: hsm }), envelope, [700]);
    expect(s.error).toBeUndefined();
    expect(s.output).toEqual(plaintext);
  });

  it('a sender key in the token signs; the recipient checks it as expectedSender', async () => {
    const plaintext = pattern(3000, 22);
    const e = await runStream(encryptStream({ to: [{ publicKey: webRecipient.publicKey }], from: { backend: hsm, ref: hsmSigner }, chunkSize: 1024 }), plaintext, [999]);
    expect(e.error).toBeUndefined();
    const opened = await decrypt(e.output, { keys: web, expectedSender: hsmSigner.publicKey });
    expect(opened.plaintext).toEqual(plaintext);
    expect(opened.sender.keyId).toBe(hsmSigner.id);
  });

  it('tampering and wrong keys fail the same way with the token', async () => {
    // Two segments of one chunk (FORMAT.md §4.1): the first chunk's tag is checked with the
    // token's content key, the signatures over it still verify.
    const envelope = await encrypt(pattern(1500), { to: [{ publicKey: hsmRecipient.publicKey }], from: { backend: hsm, ref: hsmSigner }, chunkSize: 1024, segmentSize: 1024 });
    const bad = envelope.slice();
    const firstTag = new DataView(envelope.buffer).getUint32(8) + 64 + 56 + 1024;
    bad[firstTag] = bad[firstTag]! ^ 1;
    expectSigilError(await caught(() => decrypt(bad, { keys: hsm })), 'E_AUTH_FAILED');
    expectSigilError(await caught(() => decrypt(envelope, { keys: web })), 'E_NOT_RECIPIENT');
    // The token's signing key has the id of no stanza; an agree key of another envelope neither.
    const toWeb = await encrypt(pattern(100), { to: [{ publicKey: webRecipient.publicKey }], from: { backend: web, ref: webSigner } });
    expectSigilError(await caught(() => decrypt(toWeb, { keys: hsm })), 'E_NOT_RECIPIENT');
  });
});
