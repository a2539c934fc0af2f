// The tamper suite (issue 3, "What bad input gets"; issue 14 for format v2): every case must
// end in a typed SigilError with no plaintext from decrypt, and the stream decryptor may
// release only whole segments whose signature verified before its error. With `segmentSize`
// equal to the chunk size, a segment is one chunk, so "released segments" are counted in chunks.
import { beforeAll, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend, decrypt, decryptStream, encrypt, encryptStream, type KeyRef, type SigilErrorCode } from '@sigil/sdk';
import { LABEL_HEADER_SIGNATURE, PREAMBLE_FIXED_LENGTH, STANZA_FIXED_LENGTH } from '../src/envelope/format.js';
import { fromHex } from '../src/internal/bytes.js';
import { openBase, sealBase } from '../src/internal/hpke.js';
import { encryptChunked } from '../src/internal/chunked-aead.js';
import { SegmentDigest, payloadContext, segmentSignatureInput, sha256, stanzaAad, stanzaInfo, toLowS } from '../src/envelope/binding.js';
import { decodeHeader, encodeHeader, encodePreamble, stanzaLength, type PreambleFields } from '../src/envelope/header.js';
import { caught, concat, expectSigilError, pattern, runStream } from './envelope-support.js';

const CS = 1024;
const TAG = 16;
const SIG = 64;
const PAYLOAD_HEADER = 56;
const MESSAGE_KEY = 65;
/** The envelopes of this suite name no accounts unless a test says so: a stanza is its fixed part. */
const STANZA = STANZA_FIXED_LENGTH;

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

const from = (accountId?: string) => ({ backend: keys, ref: signer, accountId });
/** A sender-signed envelope (signing 0x01): the message fits one segment. */
const small = (plaintext: Uint8Array, accountId?: string) => encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: from(accountId), chunkSize: CS });
/** A message-key envelope (signing 0x02) whose segments are one chunk each. */
const segmented = (plaintext: Uint8Array, to = [{ publicKey: alice.publicKey }]) => encrypt(plaintext, { to, from: from(), chunkSize: CS, segmentSize: CS });

interface Layout {
  headerLength: number;
  /** End of the head: header (|| header signature || salt || commitment with a message key). */
  payloadStart: number;
  /** Start of each segment (signing 0x02) or of each chunk (0x01). */
  starts: number[];
}

function layout(envelope: Uint8Array): Layout {
  const headerLength = new DataView(envelope.buffer, envelope.byteOffset).getUint32(8);
  const messageKey = envelope[107] === 2;
  const payloadStart = headerLength + (messageKey ? SIG : 0) + PAYLOAD_HEADER;
  const step = CS + TAG + (messageKey ? SIG : 0);
  const end = envelope.length - (messageKey ? 0 : SIG);
  const starts: number[] = [];
  for (let o = payloadStart; o < end; o += step) starts.push(o);
  return { headerLength, payloadStart, starts };
}

/** Decrypts one-shot and streamed (in uneven pieces); both must fail with a code in `codes`. */
async function expectRejected(envelope: Uint8Array, codes: SigilErrorCode[], plaintext?: Uint8Array, releasedChunks = 0): Promise<void> {
  const e = await caught(() => decrypt(envelope, { keys: [aliceKeys, keys] }));
  expectSigilError(e, ...codes);
  const s = await runStream(decryptStream({ keys: [aliceKeys, keys] }), envelope, [333, 1, 2048]);
  expectSigilError(s.error, ...codes);
  // Only whole verified segments (here: chunks), in order, before the error.
  for (const c of s.chunks) expect(c.length).toBe(CS);
  expect(s.chunks.length).toBe(releasedChunks);
  if (plaintext !== undefined) expect(s.output).toEqual(plaintext.subarray(0, releasedChunks * CS));
}

async function signHeader(header: Uint8Array, ref: KeyRef = signer): Promise<Uint8Array> {
  return toLowS(await keys.sign(ref, concat([LABEL_HEADER_SIGNATURE, header])));
}

/** The sender's one segment signature of a sender-signed envelope (FORMAT.md §5.4), as a sender would make it over these bytes. */
async function signWhole(header: Uint8Array, payload: Uint8Array, ref: KeyRef = signer): Promise<Uint8Array> {
  const digest = new SegmentDigest(1024);
  const chunks = payload.subarray(PAYLOAD_HEADER);
  for (let o = 0; o < chunks.length; o += CS + TAG) {
    const c = chunks.subarray(o, Math.min(chunks.length, o + CS + TAG));
    await digest.add(c.subarray(0, c.length - TAG), c.subarray(c.length - TAG));
  }
  const input = segmentSignatureInput(await sha256(header), payload.subarray(0, PAYLOAD_HEADER), 0, true, await digest.finish());
  return toLowS(await keys.sign(ref, input));
}

/** What a flip at `i` gives (FORMAT.md §3, §7); `accountLength` is the sender account id's. */
function expectedCodes(i: number, l: Layout, messageKey: boolean, accountLength = 0): SigilErrorCode[] {
  if (i < 5) return ['E_FORMAT'];
  if (i < 8) return ['E_UNSUPPORTED_VERSION'];
  if (i < 12) return ['E_LIMIT', 'E_FORMAT', 'E_TRUNCATED']; // header_length
  if (i < 16) return ['E_LIMIT']; // chunk_size
  if (i < 18) return ['E_LIMIT', 'E_BAD_SIGNATURE']; // segment_chunks
  if (i < 34) return ['E_BAD_SIGNATURE']; // message id
  if (i === 34 || i === 35) return ['E_FORMAT', 'E_BAD_SIGNATURE']; // created_at's top bytes: >= 2^53 is E_FORMAT
  if (i < 42) return ['E_BAD_SIGNATURE'];
  if (i < 107) return ['E_BAD_PUBLIC_KEY']; // sender key
  if (i === 107) return ['E_FORMAT']; // signing mode
  if (i < 110) return ['E_FORMAT', 'E_LIMIT']; // count
  if (i === 110) return ['E_FORMAT', 'E_BAD_SIGNATURE', 'E_TRUNCATED']; // account length
  const keyEnd = PREAMBLE_FIXED_LENGTH + (messageKey ? MESSAGE_KEY : 0);
  if (i < keyEnd) return ['E_BAD_PUBLIC_KEY'];
  if (i < keyEnd + accountLength) return ['E_FORMAT', 'E_BAD_SIGNATURE']; // sender account id
  if (i < keyEnd + accountLength + 2) return ['E_FORMAT']; // stanza kind and id length
  if (i < l.headerLength) return ['E_BAD_SIGNATURE']; // stanza: key id, epoch, enc, wrapped key
  if (!messageKey) return ['E_BAD_SIGNATURE']; // the sender's one signature covers salt, commitment and every chunk
  if (i < l.headerLength + SIG) return ['E_BAD_SIGNATURE']; // header signature
  if (i < l.payloadStart) return ['E_AUTH_FAILED']; // salt, commitment
  // A chunk's bytes fail its tag; a segment signature's bytes fail it (the final segment's chunk is shorter).
  return (i - l.payloadStart) % (CS + TAG + SIG) < CS + TAG ? ['E_AUTH_FAILED', 'E_BAD_SIGNATURE'] : ['E_BAD_SIGNATURE'];
}

describe('tamper suite', () => {
  it('every single-byte flip of a small envelope, at every position, is rejected with the code of its field', async () => {
    const plaintext = pattern(40);
    const envelope = await small(plaintext);
    const l = layout(envelope);
    expect(envelope.length).toBe(l.payloadStart + 40 + TAG + SIG);
    for (const mask of [0x01, 0x80]) {
      for (let i = 0; i < envelope.length; i++) {
        const bad = envelope.slice();
        bad[i] = bad[i]! ^ mask;
        await expectRejected(bad, expectedCodes(i, l, false));
      }
    }
  });

  it('every single-byte flip of a message-key envelope, at every position, is rejected with the code of its field', async () => {
    const plaintext = pattern(40, 21);
    const e = await runStream(encryptStream({ to: [{ publicKey: alice.publicKey }], from: from(), chunkSize: CS }), plaintext);
    const envelope = e.output;
    const l = layout(envelope);
    expect(envelope.length).toBe(l.payloadStart + 40 + TAG + SIG);
    for (const mask of [0x01, 0x80]) {
      for (let i = 0; i < envelope.length; i++) {
        const bad = envelope.slice();
        bad[i] = bad[i]! ^ mask;
        const codes = i >= l.payloadStart ? (i < envelope.length - SIG ? (['E_AUTH_FAILED'] as SigilErrorCode[]) : (['E_BAD_SIGNATURE'] as SigilErrorCode[])) : expectedCodes(i, l, true);
        await expectRejected(bad, codes);
      }
    }
  });

  it('every single-byte flip of an envelope that claims a sender account is rejected, and the claim is signed', async () => {
    const accountId = 'alice@example.com';
    const plaintext = pattern(40);
    const envelope = await small(plaintext, accountId);
    const opened = await decrypt(envelope, { keys: aliceKeys });
    expect(opened.sender.accountId).toBe(accountId);
    const l = layout(envelope);
    expect(envelope.length).toBe(l.payloadStart + 40 + TAG + SIG);
    for (const mask of [0x01, 0x80]) {
      for (let i = 0; i < envelope.length; i++) {
        const bad = envelope.slice();
        bad[i] = bad[i]! ^ mask;
        await expectRejected(bad, expectedCodes(i, l, false, accountId.length));
      }
    }
    // Another account id of the same length, re-encoded by someone without the sender's key.
    const swapped = envelope.slice();
    swapped.set(new TextEncoder().encode('mallory@example'), PREAMBLE_FIXED_LENGTH);
    await expectRejected(swapped, ['E_BAD_SIGNATURE']);
  });

  it('flips in a multi-segment envelope: header bytes, chunk boundaries, tags and segment signatures; the stream keeps the segments before', async () => {
    const plaintext = pattern(3 * CS + 100, 2);
    const envelope = await segmented(plaintext);
    const l = layout(envelope);
    expect(l.starts.length).toBe(4);
    const positions = new Set<number>();
    for (let i = 0; i < l.payloadStart; i++) positions.add(i);
    for (const start of l.starts) {
      const end = Math.min(start + CS + TAG + SIG, envelope.length);
      for (const p of [start, start + 1, end - SIG - TAG - 1]) positions.add(p);
      for (let p = end - SIG - TAG; p < end; p++) positions.add(p); // the tag and the segment signature
    }
    for (const i of positions) {
      const bad = envelope.slice();
      bad[i] = bad[i]! ^ 0x01;
      const k = l.starts.filter((s) => s <= i).length - 1; // segment hit, -1 for the head
      await expectRejected(bad, expectedCodes(i, l, true), plaintext, Math.max(0, k));
    }
  });

  it('truncation at every length of a small envelope and at every segment boundary and mid-segment of a large one', async () => {
    const s = await small(pattern(40));
    const ls = layout(s);
    for (let n = 0; n < s.length; n++) {
      // Short of the header, or of an empty chunk and a signature: truncated; otherwise the last 64 bytes are no signature.
      await expectRejected(s.subarray(0, n), n < ls.payloadStart + TAG + SIG ? ['E_TRUNCATED'] : ['E_BAD_SIGNATURE']);
    }
    const plaintext = pattern(3 * CS + 100, 3);
    const big = await segmented(plaintext);
    const l = layout(big);
    for (const [k, start] of l.starts.entries()) {
      // Exactly at a segment boundary: the final segment never came.
      await expectRejected(big.subarray(0, start), ['E_TRUNCATED'], plaintext, k);
      // Inside a segment: what is left is taken for a final chunk and signature, and does not authenticate.
      const end = l.starts[k + 1] ?? big.length;
      for (const cut of [start + 500, start + CS + TAG, end - 1].filter((c) => c < end && c - start >= TAG + SIG)) {
        await expectRejected(big.subarray(0, cut), ['E_AUTH_FAILED'], plaintext, k);
      }
      await expectRejected(big.subarray(0, start + 5), ['E_TRUNCATED'], plaintext, k);
      await expectRejected(big.subarray(0, start + TAG + SIG - 1), ['E_TRUNCATED'], plaintext, k);
    }
  });

  it('segments dropped, reordered, duplicated, and data after the final segment', async () => {
    const plaintext = pattern(3 * CS + 100, 4);
    const envelope = await segmented(plaintext);
    const l = layout(envelope);
    const head = envelope.subarray(0, l.payloadStart);
    const segments = l.starts.map((s, i) => envelope.subarray(s, l.starts[i + 1] ?? envelope.length));
    const [c0, c1, c2, c3] = segments as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    expect(concat([head, c0, c1, c2, c3])).toEqual(envelope);
    await expectRejected(concat([head, c0, c2, c3]), ['E_AUTH_FAILED'], plaintext, 1); // dropped
    await expectRejected(concat([head, c1, c0, c2, c3]), ['E_AUTH_FAILED'], plaintext, 0); // reordered
    await expectRejected(concat([head, c0, c0, c1, c2, c3]), ['E_AUTH_FAILED'], plaintext, 1); // duplicated
    await expectRejected(concat([head, c0, c1, c2]), ['E_TRUNCATED'], plaintext, 3); // final segment dropped
    await expectRejected(concat([head, c0, c1, c2, c3, c3]), ['E_AUTH_FAILED'], plaintext, 3); // final segment twice
    await expectRejected(concat([envelope, new Uint8Array(1)]), ['E_AUTH_FAILED'], plaintext, 3); // a trailing byte
    await expectRejected(concat([envelope, pattern(CS + TAG + SIG, 9)]), ['E_AUTH_FAILED'], plaintext, 3); // a segment's worth
    // A segment's signature moved onto another segment: it signs another index and digest.
    const sigOf = (c: Uint8Array) => c.subarray(c.length - SIG);
    const body = (c: Uint8Array) => c.subarray(0, c.length - SIG);
    await expectRejected(concat([head, body(c0), sigOf(c1), c1, c2, c3]), ['E_BAD_SIGNATURE'], plaintext, 0);
    await expectRejected(concat([head, c0, body(c1), sigOf(c0), c2, c3]), ['E_BAD_SIGNATURE'], plaintext, 1);
  });

  it('per-segment truncation, reordering and duplication with two chunks per segment', async () => {
    const plaintext = pattern(7 * CS + 10, 31);
    const envelope = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey }], from: from(), chunkSize: CS, segmentSize: 2 * CS });
    const h = new DataView(envelope.buffer).getUint32(8);
    const head = envelope.subarray(0, h + SIG + PAYLOAD_HEADER);
    const full = 2 * (CS + TAG) + SIG;
    const seg = (k: number) => envelope.subarray(head.length + k * full, Math.min(envelope.length, head.length + (k + 1) * full));
    expect(concat([head, seg(0), seg(1), seg(2), seg(3)])).toEqual(envelope); // 2 + 2 + 2 + (1 + final) chunks
    for (let k = 0; k < 4; k++) await expectRejected(concat([head, ...[0, 1, 2, 3].slice(0, k).map(seg)]), ['E_TRUNCATED'], plaintext, 2 * k);
    await expectRejected(concat([head, seg(1), seg(0), seg(2), seg(3)]), ['E_AUTH_FAILED'], plaintext, 0);
    await expectRejected(concat([head, seg(0), seg(2), seg(1), seg(3)]), ['E_AUTH_FAILED'], plaintext, 2);
    await expectRejected(concat([head, seg(0), seg(1), seg(1), seg(2), seg(3)]), ['E_AUTH_FAILED'], plaintext, 4);
    // A full segment's second chunk dropped, its signature kept: a full chunk and a signature's worth
    // are not a final chunk, and nothing follows: truncated, with the first segment released.
    await expectRejected(concat([head, seg(0), seg(1).subarray(0, CS + TAG), seg(1).subarray(full - SIG)]), ['E_TRUNCATED'], plaintext, 2);
    // Its first chunk dropped instead: the second is opened as the first (counter mismatch).
    await expectRejected(concat([head, seg(0), seg(1).subarray(CS + TAG)]), ['E_AUTH_FAILED'], plaintext, 2);
  });

  it('headers swapped between two envelopes', async () => {
    const p1 = pattern(100, 5);
    const p2 = pattern(100, 6);
    const e1 = await small(p1);
    const e2 = await small(p2);
    const l = layout(e1);
    // Header of one, payload and signature of the other: the signature covers the header's digest.
    await expectRejected(concat([e1.subarray(0, l.headerLength), e2.subarray(l.headerLength)]), ['E_BAD_SIGNATURE']);
    // The stanza of one in the other (same sender, same recipient): the signature covers it.
    const mixed = e1.slice();
    mixed.set(e2.subarray(PREAMBLE_FIXED_LENGTH, l.headerLength), PREAMBLE_FIXED_LENGTH);
    await expectRejected(mixed, ['E_BAD_SIGNATURE']);
    // With message keys: header and header signature of one, payload of the other: the payload context is the header's.
    const m1 = await segmented(pattern(2 * CS, 5));
    const m2 = await segmented(pattern(2 * CS, 6));
    const lm = layout(m1);
    await expectRejected(concat([m1.subarray(0, lm.headerLength + SIG), m2.subarray(lm.headerLength + SIG)]), ['E_AUTH_FAILED']);
    // Header of one, header signature of the other.
    await expectRejected(concat([m1.subarray(0, lm.headerLength), m2.subarray(lm.headerLength)]), ['E_BAD_SIGNATURE']);
  });

  it('a recipient stanza removed, altered or reordered', async () => {
    const plaintext = pattern(100, 7);
    const envelope = await encrypt(plaintext, {
      to: [{ publicKey: alice.publicKey }, { publicKey: bob.publicKey }],
      from: from(),
      chunkSize: CS,
    });
    const l = layout(envelope);
    const P = PREAMBLE_FIXED_LENGTH;
    const s0 = envelope.subarray(P, P + STANZA);
    const s1 = envelope.subarray(P + STANZA, l.headerLength);
    const rest = envelope.subarray(l.headerLength);
    const preamble1 = envelope.slice(0, P);
    preamble1[109] = 1;
    new DataView(preamble1.buffer).setUint32(8, P + STANZA);
    // Removed (count and length fixed up): the signature no longer covers the header.
    await expectRejected(concat([preamble1, s0, rest]), ['E_BAD_SIGNATURE']);
    await expectRejected(concat([preamble1, s1, rest]), ['E_BAD_SIGNATURE']);
    // Reordered or duplicated stanzas are non-canonical: rejected before the signature check.
    await expectRejected(concat([envelope.subarray(0, P), s1, s0, rest]), ['E_FORMAT']);
    await expectRejected(concat([envelope.subarray(0, P), s0, s0, rest]), ['E_FORMAT']);
    // Altered epoch.
    const epoch = envelope.slice();
    epoch[P + 2 + 16 + 3] = epoch[P + 2 + 16 + 3]! ^ 1;
    await expectRejected(epoch, ['E_BAD_SIGNATURE']);
  });

  it('stanzas altered and re-signed by the real sender still fail: bad enc, bad wrapped key, epoch, account, other preamble', async () => {
    const plaintext = pattern(2 * CS, 8);
    const envelope = await encrypt(plaintext, { to: [{ publicKey: alice.publicKey, epoch: 4, accountId: 'alice' }], from: from(), chunkSize: CS, segmentSize: CS });
    const l = layout(envelope);
    const resign = async (header: Uint8Array) => concat([header, await signHeader(header), envelope.subarray(l.headerLength + SIG)]);
    const stanzaAt = PREAMBLE_FIXED_LENGTH + MESSAGE_KEY;
    const encAt = stanzaAt + 2 + 'alice'.length + 16 + 4;
    const cases: [string, (h: Uint8Array) => void, SigilErrorCode[]][] = [
      ['enc off the curve', (h) => void (h[encAt + 64] = h[encAt + 64]! ^ 1), ['E_BAD_PUBLIC_KEY']],
      ['enc compressed-looking', (h) => void (h[encAt] = 0x02), ['E_BAD_PUBLIC_KEY']],
      ['wrapped key', (h) => void (h[encAt + 65] = h[encAt + 65]! ^ 1), ['E_AUTH_FAILED']],
      ['wrapped-key tag', (h) => void (h[l.headerLength - 1] = h[l.headerLength - 1]! ^ 1), ['E_AUTH_FAILED']],
      ['epoch (HPKE aad)', (h) => void (h[encAt - 1] = h[encAt - 1]! ^ 1), ['E_AUTH_FAILED']],
      ['recipient account (HPKE info): the stanza moved to another account', (h) => h.set(new TextEncoder().encode('carol'), stanzaAt + 2), ['E_AUTH_FAILED']],
      ['chunk size (HPKE info)', (h) => void (h[14] = 0x08), ['E_AUTH_FAILED']],
      ['message id (HPKE info)', (h) => void (h[20] = h[20]! ^ 1), ['E_AUTH_FAILED']],
    ];
    for (const [, mutate, codes] of cases) {
      const header = envelope.slice(0, l.headerLength);
      mutate(header);
      await expectRejected(await resign(header), codes);
    }
  });

  it('a header re-signed by a different key', async () => {
    const plaintext = pattern(2 * CS, 9);
    const envelope = await segmented(plaintext);
    const l = layout(envelope);
    // Same header, Mallory's signature: does not verify under the sender key the header names.
    const sameHeader = envelope.slice(0, l.headerLength);
    await expectRejected(concat([sameHeader, await signHeader(sameHeader, mallory), envelope.subarray(l.headerLength + SIG)]), ['E_BAD_SIGNATURE']);
    // Mallory names herself as sender and signs: the signature verifies, but the stanza was
    // sealed with the real sender's key in its HPKE info, so it does not open.
    const claimed = envelope.slice(0, l.headerLength);
    claimed.set(mallory.publicKey, 42);
    await expectRejected(concat([claimed, await signHeader(claimed, mallory), envelope.subarray(l.headerLength + SIG)]), ['E_AUTH_FAILED']);
    // And with expectedSender, the impostor is stopped before anything else.
    const e = await caught(() => decrypt(concat([claimed, envelope.subarray(l.headerLength)]), { keys: aliceKeys, expectedSender: signer.publicKey }));
    expectSigilError(e, 'E_BAD_SIGNATURE');
    // A sender-signed envelope re-signed whole by Mallory, naming herself: the stanza binds the real sender.
    const s = await small(pattern(50, 9));
    const ls = layout(s);
    const mine = s.slice(0, ls.headerLength);
    mine.set(mallory.publicKey, 42);
    const payload = s.subarray(ls.headerLength, s.length - SIG);
    await expectRejected(concat([mine, payload, await signWhole(mine, payload, mallory)]), ['E_AUTH_FAILED']);
  });

  it('high-S signatures are refused: each envelope has one encoding', async () => {
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const highS = (sig: Uint8Array): Uint8Array => {
      let s = 0n;
      for (const b of sig.subarray(32)) s = (s << 8n) | BigInt(b);
      let t = n - s;
      const out = sig.slice();
      for (let i = 63; i >= 32; i--) {
        out[i] = Number(t & 0xffn);
        t >>= 8n;
      }
      return out;
    };
    const s = await small(pattern(50, 10));
    await expectRejected(concat([s.subarray(0, s.length - SIG), highS(s.subarray(s.length - SIG))]), ['E_BAD_SIGNATURE']);
    const m = await segmented(pattern(2 * CS, 10));
    const h = layout(m).headerLength;
    await expectRejected(concat([m.subarray(0, h), highS(m.subarray(h, h + SIG)), m.subarray(h + SIG)]), ['E_BAD_SIGNATURE']);
  });

  it('a co-recipient cannot author: Bob re-uses the header and the content key to make a payload Carol would open', async () => {
    // Alice sends to [bob, carol]. Bob unwraps the content key from his stanza, keeps the header
    // (and its signature) and writes a new payload under the same context: every GCM tag and the
    // commitment check, but the sender's signature covers the ciphertext's digest.
    const carolKeys = new WebCryptoKeyBackend();
    const carol = await carolKeys.generateKeyPair({ usage: 'agree', label: 'carol' });
    const to = [
      { publicKey: bob.publicKey, accountId: 'bob' },
      { publicKey: carol.publicKey, accountId: 'carol' },
    ];
    const forged = pattern(100, 99);
    for (const signedSegments of [false, true]) {
      const plaintext = pattern(signedSegments ? 2 * CS : 100, 98);
      const envelope = await encrypt(plaintext, { to, from: from('alice'), chunkSize: CS, ...(signedSegments ? { segmentSize: CS } : {}) });
      const headerLength = new DataView(envelope.buffer).getUint32(8);
      const headerBytes = envelope.subarray(0, headerLength);
      const header = decodeHeader(headerBytes);
      const mine = header.stanzas.find((s) => s.accountId === 'bob')!;
      const contentKey = await openBase({ backend: keys, ref: bob }, mine.enc, stanzaInfo(headerBytes.subarray(0, header.preambleLength), 'bob'), stanzaAad(mine.keyId, mine.epoch), mine.wrappedKey);
      const payload = await encryptChunked(contentKey, await payloadContext(headerBytes), forged, { chunkSize: CS });
      // Bob keeps every signature Alice made and puts his payload in the place of hers.
      const bogus = signedSegments
        ? concat([envelope.subarray(0, headerLength + SIG), payload, envelope.subarray(envelope.length - SIG)])
        : concat([headerBytes, payload, envelope.subarray(envelope.length - SIG)]);
      for (const opts of [{ keys: carolKeys }, { keys: carolKeys, recipientAccountId: 'carol' }, { keys: carolKeys, expectedSender: signer.publicKey }]) {
        expectSigilError(await caught(() => decrypt(bogus, opts)), 'E_BAD_SIGNATURE');
        const s = await runStream(decryptStream(opts), bogus, [333, 1, 2048]);
        expectSigilError(s.error, 'E_BAD_SIGNATURE');
        expect(s.output.length).toBe(0);
      }
      // The real envelope still opens at Carol's, as Alice's.
      const real = await decrypt(envelope, { keys: carolKeys, recipientAccountId: 'carol' });
      expect(real.plaintext).toEqual(plaintext);
      expect(real.sender.accountId).toBe('alice');
    }
  });

  it('a sender cannot give two recipients different plaintexts (key commitment)', async () => {
    // A dishonest sender wraps content key K1 for alice and K2 for bob, signs properly, and
    // encrypts the payload under K1. The payload commits to K1: bob's key fails the commitment
    // before any chunk is opened, so the two cannot read different plaintexts.
    const k1 = pattern(32, 12);
    const k2 = pattern(32, 13);
    const recipients = [
      { ref: alice, key: k1 },
      { ref: bob, key: k2 },
    ].sort((a, b) => (a.ref.id < b.ref.id ? -1 : 1));
    const fields: PreambleFields = {
      chunkSize: CS,
      segmentChunks: 1024,
      messageId: pattern(16, 14),
      createdAt: 1_700_000_000_000,
      senderPublicKey: signer.publicKey,
      messageKey: undefined,
      senderAccountId: undefined,
    };
    const preamble = encodePreamble(fields, 2, 2 * stanzaLength(undefined));
    const stanzas = [];
    for (const r of recipients) {
      const keyId = fromHex(r.ref.id);
      const sealed = await sealBase(r.ref.publicKey, stanzaInfo(preamble, undefined), stanzaAad(keyId, 0), r.key);
      stanzas.push({ accountId: undefined, keyId, epoch: 0, enc: sealed.enc, wrappedKey: sealed.ciphertext });
    }
    const header = encodeHeader(fields, stanzas);
    const payload = await encryptChunked(k1, await payloadContext(header), pattern(100, 10), { chunkSize: CS });
    const forged = concat([header, payload, await signWhole(header, payload)]);
    expect((await decrypt(forged, { keys: aliceKeys })).plaintext).toEqual(pattern(100, 10));
    expectSigilError(await caught(() => decrypt(forged, { keys: bobOnly(keys, bob) })), 'E_AUTH_FAILED');
    const s = await runStream(decryptStream({ keys: bobOnly(keys, bob) }), forged);
    expectSigilError(s.error, 'E_AUTH_FAILED');
    expect(s.output.length).toBe(0);
  });

  it('an envelope for someone else is E_NOT_RECIPIENT; a sign key with the stanza id is not used', async () => {
    const envelope = await encrypt(pattern(10), { to: [{ publicKey: bob.publicKey }], from: from(), chunkSize: CS });
    expectSigilError(await caught(() => decrypt(envelope, { keys: aliceKeys })), 'E_NOT_RECIPIENT');
    const s = await runStream(decryptStream({ keys: aliceKeys }), envelope);
    expectSigilError(s.error, 'E_NOT_RECIPIENT');
    expect(s.output.length).toBe(0);
    // Through getKey alone, and through a listing: a sign key under the stanza's id is never used.
    const { listKeys: _unused, ...getKeyOnly } = { ...bobOnly(keys, bob), getKey: async () => ({ ...bob, usage: 'sign' as const }) };
    expectSigilError(await caught(() => decrypt(envelope, { keys: getKeyOnly })), 'E_NOT_RECIPIENT');
    const listsSign = { ...bobOnly(keys, bob), getKey: async () => ({ ...bob, usage: 'sign' as const }), listKeys: async () => [{ ...bob, usage: 'sign' as const }] };
    expectSigilError(await caught(() => decrypt(envelope, { keys: listsSign })), 'E_NOT_RECIPIENT');
  });

  it('an envelope sealed "to Mallory" with Bob\'s key is not addressed to Bob', async () => {
    const envelope = await encrypt(pattern(10), { to: [{ publicKey: bob.publicKey, accountId: 'mallory' }], from: from('alice'), chunkSize: CS });
    // The key opens it, but the stanza (and its HPKE info) names Mallory: the account layer passes its own id.
    const opened = await decrypt(envelope, { keys: bobOnly(keys, bob) });
    expect(opened.recipient.accountId).toBe('mallory');
    const e = await caught(() => decrypt(envelope, { keys: bobOnly(keys, bob), recipientAccountId: 'bob' }));
    expectSigilError(e, 'E_NOT_RECIPIENT');
    const s = await runStream(decryptStream({ keys: bobOnly(keys, bob), recipientAccountId: 'bob' }), envelope);
    expectSigilError(s.error, 'E_NOT_RECIPIENT');
    expect(s.output.length).toBe(0);
  });

  it('limits exceeded in a header: recipients, chunk size, segment size', async () => {
    const envelope = await small(pattern(10));
    const set = (f: (v: DataView) => void) => {
      const e = envelope.slice();
      f(new DataView(e.buffer));
      return e;
    };
    await expectRejected(set((v) => v.setUint16(108, 4097)), ['E_LIMIT']);
    await expectRejected(set((v) => v.setUint16(108, 0xffff)), ['E_LIMIT']);
    await expectRejected(set((v) => v.setUint16(108, 0)), ['E_FORMAT']);
    for (const cs of [0, 1, 512, 1000, 1536, 2 ** 25, 2 ** 31, 0xffffffff]) {
      await expectRejected(set((v) => v.setUint32(12, cs)), ['E_LIMIT']);
    }
    for (const n of [0, 16385, 0xffff]) await expectRejected(set((v) => v.setUint16(16, n)), ['E_LIMIT']);
    await expectRejected(set((v) => v.setUint32(8, 0xffffffff)), ['E_LIMIT']);
    // Within the limits but not what was signed.
    await expectRejected(set((v) => v.setUint32(12, 2048)), ['E_BAD_SIGNATURE']);
  });

  it('format v1 is refused with E_UNSUPPORTED_VERSION', async () => {
    const envelope = await small(pattern(10));
    const v1 = envelope.slice();
    v1[5] = 1;
    await expectRejected(v1, ['E_UNSUPPORTED_VERSION']);
    await expectRejected(v1.subarray(0, 6), ['E_UNSUPPORTED_VERSION']);
  });

  it('random bytes, and random bytes after a valid magic and version', async () => {
    for (let i = 0; i < 200; i++) {
      const junk = pattern(i * 7, i + 100);
      await expectRejected(junk, i === 0 ? ['E_TRUNCATED'] : ['E_FORMAT']);
      const framed = concat([Uint8Array.of(0x53, 0x49, 0x47, 0x49, 0x4c, 2), junk]);
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
