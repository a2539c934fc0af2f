// Issue 14, the parts of format v2 that are not tampering: the signed message facts the
// account layer needs (id, time, recipients by account), a streamed header read in linear
// work however it is cut, and one key search per envelope whatever its number of stanzas.
import { beforeAll, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend, decrypt, decryptStream, encrypt, encryptStream, type KeyRef } from '@sigil/sdk';
import { HeadReader } from '../src/envelope/head-reader.js';
import { pattern, runStream } from './envelope-support.js';

const CS = 1024;

let keys: WebCryptoKeyBackend;
let signer: KeyRef;
let many: WebCryptoKeyBackend;
let recipients: KeyRef[];
/** An envelope to 600 accounts: a header of about 95 KB. */
let big: Uint8Array;

beforeAll(async () => {
  keys = new WebCryptoKeyBackend();
  signer = await keys.generateKeyPair({ usage: 'sign', label: 'sender' });
  many = new WebCryptoKeyBackend();
  recipients = [];
  for (let i = 0; i < 600; i++) recipients.push(await many.generateKeyPair({ usage: 'agree', label: `r${i}` }));
  big = await encrypt(pattern(3 * CS + 5, 600), {
    to: recipients.map((r, i) => ({ publicKey: r.publicKey, epoch: i, accountId: `account-${String(i).padStart(4, '0')}@example.com` })),
    from: { backend: keys, ref: signer, accountId: 'sender@example.com' },
    chunkSize: CS,
  });
}, 120_000);

/** Counts what decrypt asks of a key source: getKey and listKeys calls. */
function counting(backend: WebCryptoKeyBackend, withListKeys: boolean) {
  const calls = { getKey: 0, listKeys: 0 };
  const source = {
    getKey: (id: string) => {
      calls.getKey++;
      return backend.getKey(id);
    },
    deriveSharedSecret: (ref: KeyRef, peer: Uint8Array) => backend.deriveSharedSecret(ref, peer),
    ...(withListKeys
      ? {
          listKeys: (o?: { usage?: 'sign' | 'agree' }) => {
            calls.listKeys++;
            return backend.listKeys(o);
          },
        }
      : {}),
  };
  return { source, calls };
}

describe('format v2 message facts', () => {
  it('decrypt reports the signed message id, the sender time and every recipient by account', async () => {
    const alice = await keys.generateKeyPair({ usage: 'agree', label: 'alice' });
    const before = Date.now();
    const to = [
      { publicKey: alice.publicKey, epoch: 3, accountId: 'alice@example.com' },
      { publicKey: recipients[0]!.publicKey, accountId: 'bob@example.com' },
    ];
    const e1 = await encrypt(pattern(10), { to, from: { backend: keys, ref: signer, accountId: 'sender@example.com' } });
    const e2 = await encrypt(pattern(10), { to, from: { backend: keys, ref: signer, accountId: 'sender@example.com' } });
    const r1 = await decrypt(e1, { keys, recipientAccountId: 'alice@example.com' });
    expect(r1.recipient).toEqual({ keyId: alice.id, epoch: 3, accountId: 'alice@example.com' });
    expect(r1.message.id).toMatch(/^[0-9a-f]{32}$/);
    expect(r1.message.createdAt).toBeGreaterThanOrEqual(before);
    expect(r1.message.createdAt).toBeLessThanOrEqual(Date.now());
    expect(r1.message.recipients.map((r) => r.accountId).sort()).toEqual(['alice@example.com', 'bob@example.com']);
    // A replay is the same id again (the account layer refuses it); two encryptions never share one.
    expect((await decrypt(e1, { keys })).message.id).toBe(r1.message.id);
    expect((await decrypt(e2, { keys })).message.id).not.toBe(r1.message.id);
    // The stream reports the same facts.
    const d = decryptStream({ keys, recipientAccountId: 'alice@example.com' });
    await runStream(d, e1, [100]);
    expect((await d.parties).message).toEqual(r1.message);
    await expect(encrypt(pattern(1), { to: [{ publicKey: alice.publicKey, accountId: 'has space' }], from: { backend: keys, ref: signer } })).rejects.toThrow(RangeError);
    await expect(
      encrypt(pattern(1), { to: [{ publicKey: alice.publicKey, accountId: 'a' }, { publicKey: alice.publicKey, accountId: 'b' }], from: { backend: keys, ref: signer } }),
    ).rejects.toThrow(TypeError);
  });

  it('a stream longer than a segment is released segment by segment, and a one-shot message that long uses a message key', async () => {
    const alice = await keys.generateKeyPair({ usage: 'agree', label: 'alice2' });
    const plaintext = pattern(5 * CS + 3, 5);
    const opts = { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: CS, segmentSize: 2 * CS };
    const oneShot = await encrypt(plaintext, opts);
    expect(oneShot[107]).toBe(2); // signing mode: a message key
    const streamed = await runStream(encryptStream(opts), plaintext, [777]);
    expect(streamed.output.length).toBe(oneShot.length);
    for (const envelope of [oneShot, streamed.output]) {
      const d = await runStream(decryptStream({ keys }), envelope, [50, 2000]);
      expect(d.error).toBeUndefined();
      expect(d.output).toEqual(plaintext);
      expect((await decrypt(envelope, { keys })).plaintext).toEqual(plaintext);
    }
    expect((await encrypt(plaintext.subarray(0, 2 * CS - 1), opts))[107]).toBe(1); // fits one segment: the sender signs it
    expect(() => encryptStream({ ...opts, segmentSize: CS + 1 })).toThrow(RangeError);
    expect(() => encryptStream({ ...opts, segmentSize: 32 * 1024 * 1024 })).toThrow(RangeError);
  });
});

describe('linear header parsing', () => {
  it('a 95 KB header fed one byte per write is copied once: the work is its length', () => {
    const headerLength = new DataView(big.buffer).getUint32(8);
    expect(headerLength).toBeGreaterThan(90_000); // v1 took 95 s for 80 KB fed this way
    const reader = new HeadReader();
    let rest: Uint8Array | undefined;
    let writes = 0;
    for (let o = 0; rest === undefined; o++, writes++) rest = reader.push(big.subarray(o, o + 1));
    expect(writes).toBe(headerLength); // a sender-signed envelope's head is its header
    expect(reader.copied).toBe(headerLength);
    expect(reader.head).toEqual(big.subarray(0, headerLength));
    // Cut any other way, the same work.
    const again = new HeadReader();
    for (let o = 0; again.push(big.subarray(o, o + 997)) === undefined; o += 997);
    expect(again.copied).toBe(headerLength);
  });

  it('decryptStream opens a 95 KB header fed one byte per write', async () => {
    const me = recipients[599]!;
    const only = { getKey: async (id: string) => (id === me.id ? me : undefined), deriveSharedSecret: (r: KeyRef, p: Uint8Array) => many.deriveSharedSecret(r, p) };
    const d = decryptStream({ keys: only, recipientAccountId: 'account-0599@example.com' });
    const s = await runStream(d, big, [1]);
    expect(s.error).toBeUndefined();
    expect(s.output).toEqual(pattern(3 * CS + 5, 600));
    expect((await d.parties).recipient.epoch).toBe(599);
  }, 60_000);
});

describe('one key search per envelope', () => {
  it('a 600-recipient envelope costs one listKeys and no getKey with a real backend, opened by its last stanza', async () => {
    const { source, calls } = counting(many, true);
    const opened = await decrypt(big, { keys: source });
    expect(opened.plaintext).toEqual(pattern(3 * CS + 5, 600));
    expect(calls).toEqual({ getKey: 0, listKeys: 1 });
    const s = counting(many, true);
    const d = await runStream(decryptStream({ keys: s.source }), big, [4096]);
    expect(d.error).toBeUndefined();
    expect(s.calls).toEqual({ getKey: 0, listKeys: 1 });
    // Not a recipient: still one search.
    const none = counting(new WebCryptoKeyBackend(), true);
    await expect(decrypt(big, { keys: none.source })).rejects.toMatchObject({ code: 'E_NOT_RECIPIENT' });
    expect(none.calls).toEqual({ getKey: 0, listKeys: 1 });
  });

  it('a source without listKeys (an account key ring) is asked only for the stanzas naming its account', async () => {
    const { source, calls } = counting(many, false);
    const opened = await decrypt(big, { keys: source, recipientAccountId: 'account-0321@example.com' });
    expect(opened.recipient.epoch).toBe(321);
    expect(calls).toEqual({ getKey: 1, listKeys: 0 });
    const stranger = counting(many, false);
    await expect(decrypt(big, { keys: stranger.source, recipientAccountId: 'mallory@example.com' })).rejects.toMatchObject({ code: 'E_NOT_RECIPIENT' });
    expect(stranger.calls).toEqual({ getKey: 0, listKeys: 0 });
  });
});
