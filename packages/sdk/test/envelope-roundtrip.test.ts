import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENVELOPE_LIMITS,
  WebCryptoKeyBackend,
  decrypt,
  decryptStream,
  encrypt,
  encryptStream,
  type KeyBackend,
  type KeyRef,
} from '@sigil/sdk';
import { caught, expectSigilError, pattern, runStream } from './envelope-support.js';

const CS = 1024; // the smallest chunk size, so multi-chunk cases stay small

let keys: WebCryptoKeyBackend;
let signer: KeyRef;
let alice: KeyRef;
let bob: KeyRef;
let aliceKeys: WebCryptoKeyBackend;

beforeAll(async () => {
  keys = new WebCryptoKeyBackend();
  aliceKeys = new WebCryptoKeyBackend();
  signer = await keys.generateKeyPair({ usage: 'sign', label: 'sender' });
  alice = await aliceKeys.generateKeyPair({ usage: 'agree', label: 'alice' });
  bob = await keys.generateKeyPair({ usage: 'agree', label: 'bob' });
});

const from = () => ({ backend: keys, ref: signer });

describe('envelope round trips', () => {
  for (const size of [0, 1, CS - 1, CS, CS + 1, 3 * CS, 3 * CS + 517]) {
    it(`one-shot and streaming agree for ${size} bytes`, async () => {
      const plaintext = pattern(size, size + 7);
      const envelope = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey, epoch: 7 }], from: from(), chunkSize: CS });
      const opened = await decrypt(envelope, { keys: aliceKeys });
      expect(opened.plaintext).toEqual(plaintext);
      expect(opened.sender).toEqual({ keyId: signer.id, publicKey: signer.publicKey });
      expect(opened.recipient).toEqual({ keyId: alice.id, epoch: 7 });

      // The stream decryptor reads the one-shot envelope, cut in odd pieces.
      const d = decryptStream({ keys: aliceKeys });
      const streamed = await runStream(d, envelope, [1, 7, 300, CS + 16, 5000]);
      expect(streamed.error).toBeUndefined();
      expect(streamed.output).toEqual(plaintext);
      expect((await d.parties).recipient).toEqual({ keyId: alice.id, epoch: 7 });

      // The stream encryptor's envelope opens one-shot, and has the same length.
      const e = await runStream(encryptStream({ to: [{ publicKey: alice.publicKey, epoch: 7 }], from: from(), chunkSize: CS }), plaintext, [3, CS, 999]);
      expect(e.error).toBeUndefined();
      // The stream names a message key (65 bytes) and signs the header with the sender's key (64):
      // it cannot know it will stay one segment. encrypt() knew, and let the sender sign the one
      // segment itself (FORMAT.md §4.1).
      expect(e.output.length).toBe(envelope.length + 65 + 64);
      expect((await decrypt(e.output, { keys: aliceKeys })).plaintext).toEqual(plaintext);
    });
  }

  it('uses the 64 KiB default chunk size and the streams release whole chunks only', async () => {
    const plaintext = pattern(200_000, 3);
    const envelope = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: from() });
    const d = await runStream(decryptStream({ keys: aliceKeys }), envelope, [4096]);
    expect(d.output).toEqual(plaintext);
    expect(d.chunks.map((c) => c.length)).toEqual([65536, 65536, 65536, 200_000 - 3 * 65536]);
    expect(ENVELOPE_LIMITS.defaultChunkSize).toBe(65536);
  });

  it('every recipient opens the same plaintext; others get E_NOT_RECIPIENT', async () => {
    const plaintext = pattern(2500, 9);
    const envelope = await encrypt(plaintext, {
      to: [{ publicKey: alice.publicKey, epoch: 1 }, { publicKey: bob.publicKey, epoch: 2, id: bob.id }],
      from: from(),
      chunkSize: CS,
    });
    expect((await decrypt(envelope, { keys: aliceKeys })).plaintext).toEqual(plaintext);
    const b = await decrypt(envelope, { keys: [new WebCryptoKeyBackend(), keys] });
    expect(b.plaintext).toEqual(plaintext);
    expect(b.recipient).toEqual({ keyId: bob.id, epoch: 2 });
    expectSigilError(await caught(() => decrypt(envelope, { keys: new WebCryptoKeyBackend() })), 'E_NOT_RECIPIENT');
  });

  it('a 1,000-recipient envelope opens for the first, a middle and the last recipient', async () => {
    const backend = new WebCryptoKeyBackend();
    const refs: KeyRef[] = [];
    for (let i = 0; i < 1000; i++) refs.push(await backend.generateKeyPair({ usage: 'agree', label: `r${i}` }));
    const plaintext = pattern(3000, 1000);
    const envelope = await encrypt(plaintext, { to: refs.map((r, i) => ({ publicKey: r.publicKey, epoch: i })), from: from() });
    const sorted = [...refs].sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const ref of [sorted[0]!, sorted[500]!, sorted[999]!]) {
      // A backend that holds only this recipient's key: getKey answers for that id alone.
      const onlyThis: KeyBackend = {
        generateKeyPair: (o) => backend.generateKeyPair(o),
        sign: (r, d) => backend.sign(r, d),
        deriveSharedSecret: (r, p) => backend.deriveSharedSecret(r, p),
        getKey: async (id) => (id === ref.id ? ref : undefined),
        listKeys: async () => [ref],
        deleteKey: (r) => backend.deleteKey(r),
        describeKey: (r) => backend.describeKey(r),
      };
      const opened = await decrypt(envelope, { keys: onlyThis });
      expect(opened.plaintext).toEqual(plaintext);
      expect(opened.recipient.keyId).toBe(ref.id);
      expect(opened.recipient.epoch).toBe(refs.indexOf(ref));
    }
  });

  it('duplicate recipients count once; a key repeated with two epochs is a caller error', async () => {
    const envelope = await encrypt(new Uint8Array(1), { to: [{ publicKey: alice.publicKey }, { publicKey: alice.publicKey }], from: from() });
    // 111-byte preamble (no account), one 135-byte stanza (no account), 56-byte payload header, 17-byte chunk, 64-byte signature.
    expect(envelope.length).toBe(111 + 135 + 56 + 17 + 64);
    await expect(encrypt(new Uint8Array(1), { to: [{ publicKey: alice.publicKey }, { publicKey: alice.publicKey, epoch: 1 }], from: from() })).rejects.toThrow(TypeError);
  });

  it('carries the sender account id under the signature, or none', async () => {
    const withAccount = await encrypt(pattern(10), { to: [{ publicKey: alice.publicKey }], from: { ...from(), accountId: 'service-a.example' } });
    expect((await decrypt(withAccount, { keys: aliceKeys })).sender.accountId).toBe('service-a.example');
    expect(withAccount.length).toBe(111 + 'service-a.example'.length + 135 + 56 + 26 + 64);
    const without = await encrypt(pattern(10), { to: [{ publicKey: alice.publicKey }], from: from() });
    expect((await decrypt(without, { keys: aliceKeys })).sender.accountId).toBeUndefined();
    for (const bad of ['', 'x'.repeat(129), 'has space', 'caf\u00e9']) {
      await expect(encrypt(new Uint8Array(1), { to: [{ publicKey: alice.publicKey }], from: { ...from(), accountId: bad } })).rejects.toThrow(RangeError);
    }
    const longest = await encrypt(new Uint8Array(0), { to: [{ publicKey: alice.publicKey }], from: { ...from(), accountId: 'x'.repeat(128) } });
    expect((await decrypt(longest, { keys: aliceKeys })).sender.accountId).toBe('x'.repeat(128));
  });

  it('rejects misuse with TypeError/RangeError and bad keys with E_BAD_PUBLIC_KEY', async () => {
    await expect(encrypt(new Uint8Array(1), { to: [], from: from() })).rejects.toThrow(RangeError);
    await expect(encrypt(new Uint8Array(1), { to: [{ publicKey: alice.publicKey }], from: from(), chunkSize: 1000 })).rejects.toThrow(RangeError);
    await expect(encrypt(new Uint8Array(1), { to: [{ publicKey: alice.publicKey, epoch: -1 }], from: from() })).rejects.toThrow(RangeError);
    await expect(encrypt(new Uint8Array(1), { to: [{ publicKey: alice.publicKey, id: bob.id }], from: from() })).rejects.toThrow(TypeError);
    await expect(encrypt('x' as unknown as Uint8Array, { to: [{ publicKey: alice.publicKey }], from: from() })).rejects.toThrow(TypeError);
    const offCurve = alice.publicKey.slice();
    offCurve[64] = offCurve[64]! ^ 1;
    expectSigilError(await caught(() => encrypt(new Uint8Array(1), { to: [{ publicKey: offCurve }], from: from() })), 'E_BAD_PUBLIC_KEY');
    expectSigilError(await caught(() => encrypt(new Uint8Array(1), { to: [{ publicKey: alice.publicKey.subarray(0, 33) }], from: from() })), 'E_BAD_PUBLIC_KEY');
    // An agreement key cannot sign an envelope.
    expectSigilError(await caught(() => encrypt(new Uint8Array(1), { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: bob } })), 'E_KEY_USAGE');
    await expect(decrypt(new Uint8Array(0), { keys: [] })).rejects.toThrow(RangeError);
    await expect(decrypt(new Uint8Array(0), { keys: aliceKeys, expectedSender: new Uint8Array(64) })).rejects.toThrow(RangeError);
  });

  it('expectedSender: the right key opens, any other gives E_BAD_SIGNATURE', async () => {
    const envelope = await encrypt(pattern(10), { to: [{ publicKey: alice.publicKey }], from: from() });
    expect((await decrypt(envelope, { keys: aliceKeys, expectedSender: signer.publicKey })).plaintext).toEqual(pattern(10));
    expectSigilError(await caught(() => decrypt(envelope, { keys: aliceKeys, expectedSender: bob.publicKey })), 'E_BAD_SIGNATURE');
    const d = await runStream(decryptStream({ keys: aliceKeys, expectedSender: bob.publicKey }), envelope);
    expectSigilError(d.error, 'E_BAD_SIGNATURE');
    expect(d.output.length).toBe(0);
  });

  it('more than 4096 recipients is E_LIMIT', async () => {
    const publicKey = alice.publicKey;
    // The limit counts distinct keys (after de-duplication), so this needs 4097 real keys.
    const backend = new WebCryptoKeyBackend();
    const to = [{ publicKey }];
    for (let i = 0; i < 4096; i++) to.push({ publicKey: (await backend.generateKeyPair({ usage: 'agree', label: 'x' })).publicKey });
    const e = await caught(() => encrypt(new Uint8Array(1), { to, from: from() }));
    expectSigilError(e, 'E_LIMIT');
  });

  it('streams do not keep views into buffers their source reuses', async () => {
    const plaintext = pattern(5 * CS + 333, 77);
    const envelope = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: from(), chunkSize: CS });
    for (const [stream, input, check] of [
      [decryptStream({ keys: aliceKeys }), envelope, plaintext],
      [encryptStream({ to: [{ publicKey: alice.publicKey }], from: from(), chunkSize: CS }), plaintext, undefined],
    ] as const) {
      // One scratch buffer, overwritten with garbage after every write, like a BYOB source.
      const scratch = new Uint8Array(700);
      const out: Uint8Array[] = [];
      const reading = (async () => {
        const reader = stream.readable.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          out.push(value);
        }
      })();
      const writer = stream.writable.getWriter();
      for (let o = 0; o < input.length; o += scratch.length) {
        const n = Math.min(scratch.length, input.length - o);
        scratch.set(input.subarray(o, o + n));
        await writer.write(scratch.subarray(0, n));
        scratch.fill(0xee);
      }
      await writer.close();
      await reading;
      const result = new Uint8Array(out.reduce((a, c) => a + c.length, 0));
      let p = 0;
      for (const c of out) {
        result.set(c, p);
        p += c.length;
      }
      if (check !== undefined) expect(result).toEqual(check);
      else expect((await decrypt(result, { keys: aliceKeys })).plaintext).toEqual(plaintext);
    }
  });

  it('encryptStream and decryptStream reject misuse at once', () => {
    expect(() => encryptStream({ to: [], from: from() })).toThrow(RangeError);
    expect(() => encryptStream({ to: [{ publicKey: alice.publicKey }], from: from(), chunkSize: 3 })).toThrow(RangeError);
    expect(() => encryptStream({ to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: null as unknown as KeyRef } })).toThrow(TypeError);
    expect(() => decryptStream({ keys: [] })).toThrow(RangeError);
  });

  it('the stream encryptor keeps a stable output when fed one byte at a time', async () => {
    const plaintext = pattern(CS * 2 + 3, 5);
    const e = await runStream(encryptStream({ to: [{ publicKey: alice.publicKey }], from: from(), chunkSize: CS }), plaintext, [1]);
    expect(e.error).toBeUndefined();
    expect((await decrypt(e.output, { keys: aliceKeys })).plaintext).toEqual(plaintext);
  });
});
