// The tamper suite (issue 3, "What bad input gets"): every case must end in a typed SigilError
// with no plaintext from decrypt, and the stream decryptor may release only whole
// authenticated chunks before its error.
import { beforeAll, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend, decrypt, decryptStream, encrypt, type KeyRef, type SigilErrorCode } from '@sigil/sdk';
import { LABEL_HEADER_SIGNATURE, PREAMBLE_FIXED_LENGTH, STANZA_LENGTH } from '../src/envelope/format.js';

/** The envelopes of this suite claim no sender account unless a test says so: the preamble is its fixed part. */
const PREAMBLE_LENGTH = PREAMBLE_FIXED_LENGTH;
import { fromHex } from '../src/internal/bytes.js';
import { sealBase } from '../src/internal/hpke.js';
import { encryptChunked } from '../src/internal/chunked-aead.js';
import { payloadContext, stanzaAad, stanzaInfo } from '../src/envelope/binding.js';
import { encodeHeader, encodePreamble } from '../src/envelope/header.js';
import { caught, concat, expectSigilError, pattern, runStream } from './envelope-support.js';

const CS = 1024;
const TAG = 16;
const SIG = 64;
const PAYLOAD_HEADER = 56;

let keys: WebCryptoKeyBackend; // the sender's signing key and bob's agreement key
let aliceKeys: WebCryptoKeyBackend;
let signer: KeyRef;
let mallory: KeyRef;
let alice: KeyRef;
let bob: KeyRef;

beforeAll(async () => {
  keys = new WebCryptoKeyBackend();
  aliceKeys = new WebCryptoKeyBackend();
  signer = await keys.generateKeyPair({ usage: 'sign', label: 'sender' });
  mallory = await keys.generateKeyPair({ usage: 'sign', label: 'mallory' });
  alice = await aliceKeys.generateKeyPair({ usage: 'agree', label: 'alice' });
  bob = await keys.generateKeyPair({ usage: 'agree', label: 'bob' });
});

interface Layout {
  headerLength: number;
  payloadStart: number; // first chunk
  chunkStarts: number[];
}

function layout(envelope: Uint8Array, recipients: number, accountLength = 0): Layout {
  const headerLength = PREAMBLE_LENGTH + accountLength + recipients * STANZA_LENGTH;
  const payloadStart = headerLength + SIG + PAYLOAD_HEADER;
  const chunkStarts: number[] = [];
  for (let o = payloadStart; o < envelope.length; o += CS + TAG) chunkStarts.push(o);
  return { headerLength, payloadStart, chunkStarts };
}

/** Decrypts one-shot and streamed (in uneven pieces); both must fail with a code in `codes`. */
async function expectRejected(envelope: Uint8Array, codes: SigilErrorCode[], plaintext?: Uint8Array, releasedChunks = 0): Promise<void> {
  const e = await caught(() => decrypt(envelope, { keys: [aliceKeys, keys] }));
  expectSigilError(e, ...codes);
  const s = await runStream(decryptStream({ keys: [aliceKeys, keys] }), envelope, [333, 1, 2048]);
  expectSigilError(s.error, ...codes);
  // Only whole authenticated chunks, in order, before the error.
  for (const c of s.chunks) expect(c.length).toBe(CS);
  expect(s.chunks.length).toBe(releasedChunks);
  if (plaintext !== undefined) expect(s.output).toEqual(plaintext.subarray(0, releasedChunks * CS));
}

async function signHeader(header: Uint8Array, ref: KeyRef = signer): Promise<Uint8Array> {
  return keys.sign(ref, concat([LABEL_HEADER_SIGNATURE, header]));
}

/** What a flip at `i` of a one-recipient envelope must give (FORMAT.md §3, §7). */
function expectedCodes(i: number, l: Layout): SigilErrorCode[] {
  if (i < 5) return ['E_FORMAT'];
  if (i < 8) return ['E_UNSUPPORTED_VERSION'];
  if (i < 12) return ['E_LIMIT'];
  if (i < 77) return ['E_BAD_PUBLIC_KEY'];
  if (i < 79) return ['E_FORMAT', 'E_LIMIT', 'E_TRUNCATED'];
  // The account id's length: a longer id over stanza bytes that are not visible ASCII is E_FORMAT,
  // one that moves the header's end past the input E_TRUNCATED, anything else fails the signature.
  if (i === 79) return ['E_FORMAT', 'E_TRUNCATED', 'E_BAD_SIGNATURE'];
  if (i < l.headerLength - STANZA_LENGTH) return ['E_FORMAT', 'E_BAD_SIGNATURE']; // account id bytes
  if (i < l.headerLength + SIG) return ['E_BAD_SIGNATURE'];
  return ['E_AUTH_FAILED'];
}

describe('tamper suite', () => {
  it('every single-byte flip of a small envelope, at every position, is rejected with the code of its field', async () => {
    const plaintext = pattern(40);
    const envelope = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: CS });
    const l = layout(envelope, 1);
    expect(envelope.length).toBe(l.payloadStart + 40 + TAG);
    for (const mask of [0x01, 0x80]) {
      for (let i = 0; i < envelope.length; i++) {
        const bad = envelope.slice();
        bad[i] = bad[i]! ^ mask;
        await expectRejected(bad, expectedCodes(i, l));
      }
    }
  });

  it('every single-byte flip of an envelope that claims a sender account is rejected, and the claim is signed', async () => {
    const accountId = 'alice@example.com';
    const plaintext = pattern(40);
    const envelope = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer, accountId }, chunkSize: CS });
    const opened = await decrypt(envelope, { keys: aliceKeys });
    expect(opened.sender.accountId).toBe(accountId);
    const l = layout(envelope, 1, accountId.length);
    expect(envelope.length).toBe(l.payloadStart + 40 + TAG);
    for (const mask of [0x01, 0x80]) {
      for (let i = 0; i < envelope.length; i++) {
        const bad = envelope.slice();
        bad[i] = bad[i]! ^ mask;
        await expectRejected(bad, expectedCodes(i, l));
      }
    }
    // Another account id of the same length, re-encoded by someone without the sender's key.
    const swapped = envelope.slice();
    swapped.set(new TextEncoder().encode('mallory@example'), PREAMBLE_LENGTH);
    await expectRejected(swapped, ['E_BAD_SIGNATURE']);
  });

  it('flips in a multi-chunk envelope: header bytes, chunk boundaries and tag bytes; the stream keeps the chunks before', async () => {
    const plaintext = pattern(3 * CS + 100, 2);
    const envelope = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: CS });
    const l = layout(envelope, 1);
    expect(l.chunkStarts.length).toBe(4);
    const positions = new Set<number>();
    for (let i = 0; i < l.payloadStart; i++) positions.add(i);
    for (const start of l.chunkStarts) {
      const end = Math.min(start + CS + TAG, envelope.length);
      for (const p of [start, start + 1, end - TAG - 1]) positions.add(p);
      for (let p = end - TAG; p < end; p++) positions.add(p); // the tag
    }
    for (const i of positions) {
      const bad = envelope.slice();
      bad[i] = bad[i]! ^ 0x01;
      const k = l.chunkStarts.filter((s) => s <= i).length - 1; // chunk hit, -1 for the header
      await expectRejected(bad, expectedCodes(i, l), plaintext, Math.max(0, k));
    }
  });

  it('truncation at every length of a small envelope and at every chunk boundary and mid-chunk of a large one', async () => {
    const small = await encrypt(pattern(40), { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: CS });
    const ls = layout(small, 1);
    for (let n = 0; n < small.length; n++) {
      // Short of the header, or of a tag's worth of final chunk: truncated; otherwise the cut final chunk fails.
      await expectRejected(small.subarray(0, n), n < ls.payloadStart + TAG ? ['E_TRUNCATED'] : ['E_AUTH_FAILED']);
    }
    const plaintext = pattern(3 * CS + 100, 3);
    const big = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: CS });
    const l = layout(big, 1);
    for (const [k, start] of l.chunkStarts.entries()) {
      // Exactly at a chunk boundary: the final chunk never came.
      await expectRejected(big.subarray(0, start), ['E_TRUNCATED'], plaintext, k);
      // Mid-chunk: what is left is taken for the final chunk and does not authenticate.
      const end = l.chunkStarts[k + 1] ?? big.length;
      for (const cut of [start + 16, start + 500, end - 1].filter((c) => c < end)) await expectRejected(big.subarray(0, cut), ['E_AUTH_FAILED'], plaintext, k);
      await expectRejected(big.subarray(0, start + 5), ['E_TRUNCATED'], plaintext, k);
    }
  });

  it('chunks dropped, reordered, duplicated, and data after the final chunk', async () => {
    const plaintext = pattern(3 * CS + 100, 4);
    const envelope = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: CS });
    const l = layout(envelope, 1);
    const head = envelope.subarray(0, l.payloadStart);
    const chunks = l.chunkStarts.map((s, i) => envelope.subarray(s, l.chunkStarts[i + 1] ?? envelope.length));
    const [c0, c1, c2, c3] = chunks as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    expect(concat([head, c0, c1, c2, c3])).toEqual(envelope);
    await expectRejected(concat([head, c0, c2, c3]), ['E_AUTH_FAILED'], plaintext, 1); // dropped
    await expectRejected(concat([head, c1, c0, c2, c3]), ['E_AUTH_FAILED'], plaintext, 0); // reordered
    await expectRejected(concat([head, c0, c0, c1, c2, c3]), ['E_AUTH_FAILED'], plaintext, 1); // duplicated
    await expectRejected(concat([head, c0, c1, c2]), ['E_TRUNCATED'], plaintext, 3); // final chunk dropped
    await expectRejected(concat([head, c0, c1, c2, c3, c3]), ['E_AUTH_FAILED'], plaintext, 3); // final chunk twice
    await expectRejected(concat([envelope, new Uint8Array(1)]), ['E_AUTH_FAILED'], plaintext, 3); // a trailing byte
    await expectRejected(concat([envelope, pattern(CS + TAG, 9)]), ['E_AUTH_FAILED'], plaintext, 3); // a chunk's worth
  });

  it('headers swapped between two envelopes', async () => {
    const p1 = pattern(100, 5);
    const p2 = pattern(100, 6);
    const e1 = await encrypt(p1, { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: CS });
    const e2 = await encrypt(p2, { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: CS });
    const l = layout(e1, 1);
    // Header and signature of one, payload of the other: the payload context is a hash of both.
    await expectRejected(concat([e1.subarray(0, l.headerLength + SIG), e2.subarray(l.headerLength + SIG)]), ['E_AUTH_FAILED']);
    // Header of one, signature of the other.
    await expectRejected(concat([e1.subarray(0, l.headerLength), e2.subarray(l.headerLength)]), ['E_BAD_SIGNATURE']);
    // The stanza of one in the other (same sender, same recipient): the signature covers it.
    const mixed = e1.slice();
    mixed.set(e2.subarray(PREAMBLE_LENGTH, l.headerLength), PREAMBLE_LENGTH);
    await expectRejected(mixed, ['E_BAD_SIGNATURE']);
  });

  it('a recipient stanza removed, altered or reordered', async () => {
    const plaintext = pattern(100, 7);
    const envelope = await encrypt(plaintext, {
      to: [{ publicKey: alice.publicKey }, { publicKey: bob.publicKey }],
      from: { backend: keys, ref: signer },
      chunkSize: CS,
    });
    const l = layout(envelope, 2);
    const s0 = envelope.subarray(PREAMBLE_LENGTH, PREAMBLE_LENGTH + STANZA_LENGTH);
    const s1 = envelope.subarray(PREAMBLE_LENGTH + STANZA_LENGTH, l.headerLength);
    const rest = envelope.subarray(l.headerLength);
    const preamble1 = envelope.slice(0, PREAMBLE_LENGTH);
    preamble1[78] = 1;
    // Removed (count fixed up): the signature no longer covers the header.
    await expectRejected(concat([preamble1, s0, rest]), ['E_BAD_SIGNATURE']);
    await expectRejected(concat([preamble1, s1, rest]), ['E_BAD_SIGNATURE']);
    // Reordered or duplicated stanzas are non-canonical: rejected before the signature check.
    await expectRejected(concat([envelope.subarray(0, PREAMBLE_LENGTH), s1, s0, rest]), ['E_FORMAT']);
    await expectRejected(concat([envelope.subarray(0, PREAMBLE_LENGTH), s0, s0, rest]), ['E_FORMAT']);
    // Altered epoch.
    const epoch = envelope.slice();
    epoch[PREAMBLE_LENGTH + 16 + 3] = epoch[PREAMBLE_LENGTH + 16 + 3]! ^ 1;
    await expectRejected(epoch, ['E_BAD_SIGNATURE']);
  });

  it('stanzas altered and re-signed by the real sender still fail: bad enc, bad wrapped key, epoch, other preamble', async () => {
    const plaintext = pattern(100, 8);
    const envelope = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey, epoch: 4 }], from: { backend: keys, ref: signer }, chunkSize: CS });
    const l = layout(envelope, 1);
    const resign = async (header: Uint8Array) => concat([header, await signHeader(header), envelope.subarray(l.headerLength + SIG)]);
    const encAt = PREAMBLE_LENGTH + 16 + 4;
    const cases: [string, (h: Uint8Array) => void, SigilErrorCode[]][] = [
      ['enc off the curve', (h) => void (h[encAt + 64] = h[encAt + 64]! ^ 1), ['E_BAD_PUBLIC_KEY']],
      ['enc compressed-looking', (h) => void (h[encAt] = 0x02), ['E_BAD_PUBLIC_KEY']],
      ['wrapped key', (h) => void (h[encAt + 65] = h[encAt + 65]! ^ 1), ['E_AUTH_FAILED']],
      ['wrapped-key tag', (h) => void (h[l.headerLength - 1] = h[l.headerLength - 1]! ^ 1), ['E_AUTH_FAILED']],
      ['epoch (HPKE aad)', (h) => void (h[encAt - 1] = h[encAt - 1]! ^ 1), ['E_AUTH_FAILED']],
      ['chunk size (HPKE info)', (h) => void (h[10] = 0x08), ['E_AUTH_FAILED']],
    ];
    for (const [, mutate, codes] of cases) {
      const header = envelope.slice(0, l.headerLength);
      mutate(header);
      await expectRejected(await resign(header), codes);
    }
  });

  it('a header re-signed by a different key', async () => {
    const plaintext = pattern(100, 9);
    const envelope = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: CS });
    const l = layout(envelope, 1);
    // Same header, Mallory's signature: does not verify under the sender key the header names.
    const sameHeader = envelope.slice(0, l.headerLength);
    await expectRejected(concat([sameHeader, await signHeader(sameHeader, mallory), envelope.subarray(l.headerLength + SIG)]), ['E_BAD_SIGNATURE']);
    // Mallory names herself as sender and signs: the signature verifies, but the stanza was
    // sealed with the real sender's key in its HPKE info, so it does not open.
    const claimed = envelope.slice(0, l.headerLength);
    claimed.set(mallory.publicKey, 12);
    await expectRejected(concat([claimed, await signHeader(claimed, mallory), envelope.subarray(l.headerLength + SIG)]), ['E_AUTH_FAILED']);
    // And with expectedSender, the impostor is stopped before anything else.
    const e = await caught(() => decrypt(concat([claimed, envelope.subarray(l.headerLength)]), { keys: aliceKeys, expectedSender: signer.publicKey }));
    expectSigilError(e, 'E_BAD_SIGNATURE');
  });

  it('a sender cannot give two recipients different plaintexts (key commitment)', async () => {
    // A dishonest sender wraps content key K1 for alice and K2 for bob, signs the header
    // properly, and encrypts the payload under K1. The payload commits to K1: bob's key fails
    // the commitment before any chunk is opened, so the two cannot read different plaintexts.
    const k1 = pattern(32, 12);
    const k2 = pattern(32, 13);
    const recipients = [
      { ref: alice, key: k1 },
      { ref: bob, key: k2 },
    ].sort((a, b) => (a.ref.id < b.ref.id ? -1 : 1));
    const preamble = encodePreamble(CS, signer.publicKey, 2, undefined);
    const stanzas = [];
    for (const r of recipients) {
      const keyId = fromHex(r.ref.id);
      const sealed = await sealBase(r.ref.publicKey, stanzaInfo(preamble), stanzaAad(keyId, 0), r.key);
      stanzas.push({ keyId, epoch: 0, enc: sealed.enc, wrappedKey: sealed.ciphertext });
    }
    const header = encodeHeader(preamble, stanzas);
    const signature = await signHeader(header);
    const payload = await encryptChunked(k1, await payloadContext(header, signature), pattern(100, 10), { chunkSize: CS });
    const forged = concat([header, signature, payload]);
    expect((await decrypt(forged, { keys: aliceKeys })).plaintext).toEqual(pattern(100, 10));
    expectSigilError(await caught(() => decrypt(forged, { keys: bobOnly(keys, bob) })), 'E_AUTH_FAILED');
    const s = await runStream(decryptStream({ keys: bobOnly(keys, bob) }), forged);
    expectSigilError(s.error, 'E_AUTH_FAILED');
    expect(s.output.length).toBe(0);
  });

  it('an envelope for someone else is E_NOT_RECIPIENT; a sign key with the stanza id is not used', async () => {
    const envelope = await encrypt(pattern(10), { to: [{ publicKey: bob.publicKey }], from: { backend: keys, ref: signer }, chunkSize: CS });
    expectSigilError(await caught(() => decrypt(envelope, { keys: aliceKeys })), 'E_NOT_RECIPIENT');
    const s = await runStream(decryptStream({ keys: aliceKeys }), envelope);
    expectSigilError(s.error, 'E_NOT_RECIPIENT');
    expect(s.output.length).toBe(0);
    const signOnly = { ...bobOnly(keys, bob), getKey: async () => ({ ...bob, usage: 'sign' as const }) };
    expectSigilError(await caught(() => decrypt(envelope, { keys: signOnly })), 'E_NOT_RECIPIENT');
  });

  it('limits exceeded in a header: recipients, chunk size', async () => {
    const envelope = await encrypt(pattern(10), { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: CS });
    const set = (f: (v: DataView) => void) => {
      const e = envelope.slice();
      f(new DataView(e.buffer));
      return e;
    };
    await expectRejected(set((v) => v.setUint16(77, 4097)), ['E_LIMIT']);
    await expectRejected(set((v) => v.setUint16(77, 0xffff)), ['E_LIMIT']);
    await expectRejected(set((v) => v.setUint16(77, 0)), ['E_FORMAT']);
    for (const cs of [0, 1, 512, 1000, 1536, 2 ** 25, 2 ** 31, 0xffffffff]) {
      await expectRejected(set((v) => v.setUint32(8, cs)), ['E_LIMIT']);
    }
    // Within the limits but not what was signed.
    await expectRejected(set((v) => v.setUint32(8, 2048)), ['E_BAD_SIGNATURE']);
  });

  it('random bytes, and random bytes after a valid magic and version', async () => {
    for (let i = 0; i < 200; i++) {
      const junk = pattern(i * 7, i + 100);
      await expectRejected(junk, i === 0 ? ['E_TRUNCATED'] : ['E_FORMAT']);
      const framed = concat([Uint8Array.of(0x53, 0x49, 0x47, 0x49, 0x4c, 1), junk]);
      const e = await caught(() => decrypt(framed, { keys: aliceKeys }));
      expectSigilError(e);
    }
  });
});

/** A backend view that holds only `ref` (the rest delegates). */
function bobOnly(backend: WebCryptoKeyBackend, ref: KeyRef) {
  return {
    generateKeyPair: backend.generateKeyPair.bind(backend),
    sign: backend.sign.bind(backend),
    deriveSharedSecret: backend.deriveSharedSecret.bind(backend),
    getKey: async (id: string) => (id === ref.id ? ref : undefined),
    listKeys: async () => [ref],
    deleteKey: backend.deleteKey.bind(backend),
    describeKey: backend.describeKey.bind(backend),
  };
}
