// Deterministic generator of Sigil's own envelope vectors (format v2, docs/FORMAT.md §9):
// packages/sdk/test/vectors/envelope-v2.json. Success cases carry keys, plaintext and
// envelope; failure cases carry the expected error code as data, so a second implementation
// can test itself against them.
//
//   npx tsx --conditions=development packages/sdk/scripts/gen-envelope-vectors.ts          # rewrite the file
//   npx tsx --conditions=development packages/sdk/scripts/gen-envelope-vectors.ts --check  # compare, exit 1 if different
//
// Reproducible: fixed private keys (SHA-256 of a name), RFC 6979 deterministic ECDSA
// (@noble/curves), and the envelope's test-only randomness seam fed by a SHA-256 counter
// stream. NOTHING here is fit for real encryption: reused "randomness" destroys
// confidentiality. The test packages/sdk/test/envelope-vectors.test.ts regenerates the file in
// memory and compares it byte for byte, then decrypts every case.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { p256 } from '@noble/curves/nist.js';
import type { GenerateKeyPairOptions, KeyBackend, KeyDescription, KeyRef } from '../src/backend/key-backend.js';
import { SigilError } from '../src/errors.js';
import { concatBytes, fromHex, toHex } from '../src/internal/bytes.js';
import { checkP256PublicKey, keyIdOf } from '../src/internal/p256.js';
import { sealBase } from '../src/internal/hpke.js';
import { openBase } from '../src/internal/hpke.js';
import { encryptChunked } from '../src/internal/chunked-aead.js';
import { insecureEncryptWithRandom, type InsecureRandom } from '../src/envelope/encrypt.js';
import {
  SegmentDigest,
  headerSignatureInput,
  payloadContext,
  segmentSignatureInput,
  sha256,
  stanzaAad,
  stanzaInfo,
  toLowS,
} from '../src/envelope/binding.js';
import { PREAMBLE_FIXED_LENGTH } from '../src/envelope/format.js';
import { decodeHeader, encodeHeader, encodePreamble, stanzaLength, type PreambleFields } from '../src/envelope/header.js';

export const VECTORS_PATH = fileURLToPath(new URL('../test/vectors/envelope-v2.json', import.meta.url));

/** A KeyBackend over known private scalars, for vectors only (it holds private keys in memory). */
export class FixedKeyBackend implements KeyBackend {
  readonly #keys = new Map<string, { ref: KeyRef; privateKey: Uint8Array }>();

  async add(label: string, usage: 'sign' | 'agree', privateKey: Uint8Array): Promise<KeyRef> {
    const publicKey = p256.getPublicKey(privateKey, false);
    const ref: KeyRef = Object.freeze({ id: await keyIdOf(publicKey), usage, label, publicKey });
    this.#keys.set(ref.id, { ref, privateKey });
    return ref;
  }

  async generateKeyPair(_options: GenerateKeyPairOptions): Promise<KeyRef> {
    throw new Error('FixedKeyBackend holds fixed keys only');
  }

  async sign(ref: KeyRef, data: Uint8Array): Promise<Uint8Array> {
    // RFC 6979 deterministic nonce; prehash SHA-256; IEEE P1363 r || s.
    // lowS: false, as WebCrypto and tokens sign: the encoder's own low-S step is what the vectors exercise.
    return p256.sign(data, this.#entry(ref, 'sign'), { prehash: true, lowS: false });
  }

  async deriveSharedSecret(ref: KeyRef, peerPublicKey: Uint8Array): Promise<Uint8Array> {
    const privateKey = this.#entry(ref, 'agree');
    checkP256PublicKey(peerPublicKey);
    return p256.getSharedSecret(privateKey, peerPublicKey, true).slice(1);
  }

  async getKey(id: string): Promise<KeyRef | undefined> {
    return this.#keys.get(id)?.ref;
  }

  async listKeys(): Promise<KeyRef[]> {
    return [...this.#keys.values()].map((e) => e.ref);
  }

  async deleteKey(ref: KeyRef): Promise<void> {
    this.#keys.delete(ref.id);
  }

  async describeKey(): Promise<KeyDescription> {
    return { extractable: true, sensitive: false, hardware: false };
  }

  #entry(ref: KeyRef, usage: 'sign' | 'agree'): Uint8Array {
    const e = this.#keys.get(ref.id);
    if (e === undefined) throw new SigilError('E_KEY_NOT_FOUND', `No key ${ref.id}`);
    if (e.ref.usage !== usage) throw new SigilError('E_KEY_USAGE', `Key ${ref.id} is not a ${usage} key`);
    return e.privateKey;
  }
}

/** SHA-256 in counter mode over a seed: the deterministic stand-in for a CSPRNG. */
export function insecureDeterministicRandom(seed: string): InsecureRandom {
  let counter = 0;
  return (length: number) => {
    const out = new Uint8Array(length);
    for (let o = 0; o < length; o += 32) {
      const block = createHash('sha256').update(`sigil/v2 test rng\0${seed}\0${counter++}`).digest();
      out.set(block.subarray(0, Math.min(32, length - o)), o);
    }
    return out;
  };
}

/** Deterministic filler plaintext. */
function message(length: number, seed: string): Uint8Array {
  return insecureDeterministicRandom(`plaintext ${seed}`)(length);
}

const KEY_NAMES = {
  sender: 'sign',
  mallory: 'sign',
  alice: 'agree',
  bob: 'agree',
  carol: 'agree',
  eve: 'agree',
} as const;
export type KeyName = keyof typeof KEY_NAMES;

export interface VectorKey {
  readonly usage: 'sign' | 'agree';
  /** P-256 private scalar, 32 bytes hex (test keys: SHA-256 of "sigil/v1 test key <name>"). */
  readonly privateKey: string;
  readonly publicKey: string;
  readonly keyId: string;
}

export interface VectorCase {
  readonly tcId: number;
  readonly comment: string;
  /** The names of the keys the decryptor holds (its agreement keys). */
  readonly keys: readonly KeyName[];
  /** If present, the decryptor passes this key's public key as expectedSender. */
  readonly expectedSender?: KeyName;
  /** If present, the decryptor passes it as recipientAccountId (only stanzas naming it are candidates). */
  readonly recipientAccount?: string;
  readonly envelope: string;
  readonly result: 'valid' | 'invalid';
  /** valid: the plaintext, sender key id, opened stanza; invalid: the error code. */
  readonly plaintext?: string;
  readonly sender?: string;
  /** valid: the sender account id the header claims, when it claims one. */
  readonly senderAccount?: string;
  readonly recipient?: { readonly keyId: string; readonly epoch: number; readonly accountId?: string };
  /** valid: the signed message facts (FORMAT.md §3.1-3.2). */
  readonly message?: { readonly id: string; readonly createdAt: number; readonly recipients: readonly { readonly keyId: string; readonly epoch: number; readonly accountId?: string }[] };
  /** valid: the content key and payload context, to debug a second implementation. */
  readonly contentKey?: string;
  readonly payloadContext?: string;
  readonly error?: string;
}

export interface VectorFile {
  readonly description: string;
  readonly format: string;
  readonly generator: string;
  readonly keys: Record<KeyName, VectorKey>;
  readonly tests: readonly VectorCase[];
}

export interface VectorKeys {
  readonly backend: FixedKeyBackend;
  readonly refs: Record<KeyName, KeyRef>;
  readonly file: Record<KeyName, VectorKey>;
}

export async function vectorKeys(): Promise<VectorKeys> {
  const backend = new FixedKeyBackend();
  const refs = {} as Record<KeyName, KeyRef>;
  const file = {} as Record<KeyName, VectorKey>;
  for (const [name, usage] of Object.entries(KEY_NAMES) as [KeyName, 'sign' | 'agree'][]) {
    const privateKey = new Uint8Array(createHash('sha256').update(`sigil/v1 test key ${name}`).digest());
    if (!p256.utils.isValidSecretKey(privateKey)) throw new Error(`test key ${name} out of range`);
    const ref = await backend.add(name, usage, privateKey);
    refs[name] = ref;
    file[name] = { usage, privateKey: toHex(privateKey), publicKey: toHex(ref.publicKey), keyId: ref.id };
  }
  return { backend, refs, file };
}

const SIG = 64;
const PAYLOAD_HEADER = 56;
const TAG = 16;
/** The sender's clock in every vector: 2025-12-06T05:46:40Z, in ms. */
export const VECTOR_CREATED_AT = 1_765_000_000_000;

type To = { name: KeyName; epoch?: number; account?: string };

export async function generateEnvelopeVectors(): Promise<VectorFile> {
  const { backend, refs, file } = await vectorKeys();
  const from = { backend, ref: refs.sender };
  const tests: VectorCase[] = [];
  const add = (c: Omit<VectorCase, 'tcId'>) => tests.push({ tcId: tests.length + 1, ...c });
  const KB = 1024;

  /** Encrypts deterministically and records the content key (the seam's first draw). */
  const make = async (seed: string, plaintext: Uint8Array, to: To[], chunkSize: number, options: { accountId?: string; segmentSize?: number } = {}) => {
    const rng = insecureDeterministicRandom(seed);
    let contentKey: Uint8Array | undefined;
    const recordingRng: InsecureRandom = (n) => {
      const out = rng(n);
      contentKey ??= out.slice();
      return out;
    };
    const envelope = await insecureEncryptWithRandom(
      plaintext,
      {
        to: to.map((r) => ({ publicKey: refs[r.name].publicKey, epoch: r.epoch ?? 0, accountId: r.account })),
        from: { ...from, accountId: options.accountId },
        chunkSize,
        segmentSize: options.segmentSize,
      },
      recordingRng,
      VECTOR_CREATED_AT,
    );
    const headerLength = new DataView(envelope.buffer).getUint32(8);
    const header = decodeHeader(envelope.subarray(0, headerLength));
    return { envelope, contentKey: contentKey as Uint8Array, context: await payloadContext(envelope.subarray(0, headerLength)), headerLength, header };
  };

  const valid = async (comment: string, seed: string, plaintext: Uint8Array, to: To[], chunkSize: number, options: { accountId?: string; segmentSize?: number } = {}) => {
    const made = await make(seed, plaintext, to, chunkSize, options);
    const entry = (r: To) => ({ keyId: refs[r.name].id, epoch: r.epoch ?? 0, ...(r.account === undefined ? {} : { accountId: r.account }) });
    const recipients = [...to].sort((a, b) => (refs[a.name].id < refs[b.name].id ? -1 : 1)).map(entry);
    for (const r of to) {
      add({
        comment: `${comment}; opened by ${r.name}`,
        keys: [r.name],
        ...(r.account === undefined ? {} : { recipientAccount: r.account }),
        envelope: toHex(made.envelope),
        result: 'valid',
        plaintext: toHex(plaintext),
        sender: refs.sender.id,
        ...(options.accountId === undefined ? {} : { senderAccount: options.accountId }),
        recipient: entry(r),
        message: { id: toHex(made.header.messageId), createdAt: VECTOR_CREATED_AT, recipients },
        contentKey: toHex(made.contentKey),
        payloadContext: toHex(made.context),
      });
    }
    return made;
  };
  const invalid = (comment: string, envelope: Uint8Array, error: string, keys: KeyName[] = ['alice'], extra: { expectedSender?: KeyName; recipientAccount?: string } = {}) =>
    add({ comment, keys, ...extra, envelope: toHex(envelope), result: 'invalid', error });

  /** The sender's one segment signature over a sender-signed envelope's header and payload (FORMAT.md §5.4). */
  const signWhole = async (header: Uint8Array, payload: Uint8Array, chunkSize: number, signer: KeyRef = refs.sender) => {
    const digest = new SegmentDigest(Math.floor(KB * KB / chunkSize) || 1);
    const chunks = payload.subarray(PAYLOAD_HEADER);
    for (let o = 0; o < chunks.length; o += chunkSize + TAG) {
      const c = chunks.subarray(o, Math.min(chunks.length, o + chunkSize + TAG));
      await digest.add(c.subarray(0, c.length - TAG), c.subarray(c.length - TAG));
    }
    const input = segmentSignatureInput(await sha256(header), payload.subarray(0, PAYLOAD_HEADER), 0, true, await digest.finish());
    return toLowS(await backend.sign(signer, input));
  };

  // ---- success cases (FORMAT.md §3-5) ----
  await valid('empty plaintext, chunk size 1024', 'empty', new Uint8Array(0), [{ name: 'alice' }], KB);
  await valid('"hello", epoch 7', 'hello', new TextEncoder().encode('hello'), [{ name: 'alice', epoch: 7 }], KB);
  await valid('chunk size - 1 bytes: one short chunk', 'cs-1', message(KB - 1, 'cs-1'), [{ name: 'alice' }], KB);
  await valid('exactly one chunk size: a full chunk and an empty final chunk', 'cs', message(KB, 'cs'), [{ name: 'alice' }], KB);
  await valid('chunk size + 1 bytes', 'cs+1', message(KB + 1, 'cs+1'), [{ name: 'alice' }], KB);
  const multi = await valid('three full chunks and a short one, signed by the sender (one segment)', 'multi', message(3 * KB + 100, 'multi'), [{ name: 'alice' }], KB);
  const three = await valid(
    'three recipients by account, epochs 0, 1, 2^32-1',
    'three',
    message(300, 'three'),
    [{ name: 'alice', account: 'alice@example.com' }, { name: 'bob', epoch: 1, account: 'bob@example.com' }, { name: 'carol', epoch: 0xffffffff, account: 'carol@example.com' }],
    KB,
    { accountId: 'sender@example.com' },
  );
  await valid('Cobblestone-256 proper: chunk size 16384, 16385 bytes', 'cobblestone', message(16385, 'cobblestone'), [{ name: 'bob' }], 16384);
  await valid('default chunk size 65536', 'default', message(100, 'default'), [{ name: 'alice' }], 65536);
  const withAccount = await valid('sender account "alice@example.com" in the signed header', 'account', message(50, 'account'), [{ name: 'bob' }], KB, { accountId: 'alice@example.com' });
  const segmented = await valid('message key, one chunk per segment: four segments', 'segmented', message(3 * KB + 100, 'segmented'), [{ name: 'alice' }, { name: 'bob', account: 'bob' }], KB, { segmentSize: KB });
  await valid('message key, two chunks per segment, 5 KiB + 7', 'segmented-2', message(5 * KB + 7, 'segmented-2'), [{ name: 'alice' }], KB, { segmentSize: 2 * KB });
  await valid('message key, a multiple of the segment size: the final segment is an empty chunk', 'segmented-exact', message(2 * KB, 'segmented-exact'), [{ name: 'alice' }], KB, { segmentSize: KB });
  const base = await make('base', message(200, 'base'), [{ name: 'alice' }], KB);
  const other = await make('other', message(200, 'other'), [{ name: 'alice' }], KB);
  const keyed = await make('keyed', message(2 * KB + 10, 'keyed'), [{ name: 'alice', account: 'alice' }], KB, { segmentSize: KB });
  const keyed2 = await make('keyed2', message(2 * KB + 10, 'keyed2'), [{ name: 'alice', account: 'alice' }], KB, { segmentSize: KB });

  // ---- failure cases, one or more per class (FORMAT.md §7-8) ----
  const e = base.envelope;
  const h = base.headerLength;
  const mutate = (bytes: Uint8Array, f: (b: Uint8Array, v: DataView) => void): Uint8Array => {
    const copy = bytes.slice();
    f(copy, new DataView(copy.buffer));
    return copy;
  };
  const flip = (bytes: Uint8Array, at: number) => mutate(bytes, (b) => void (b[at] = b[at]! ^ 0x01));
  const k = keyed.envelope;
  const kh = keyed.headerLength;
  const kStart = kh + SIG + PAYLOAD_HEADER;
  const segment = (i: number) => k.subarray(kStart + i * (KB + TAG + SIG), Math.min(k.length, kStart + (i + 1) * (KB + TAG + SIG)));
  /** A message-key envelope whose header is changed and re-signed by the sender (its payload kept). */
  const resignHeader = async (header: Uint8Array, signer: KeyRef = refs.sender) =>
    concatBytes(header, toLowS(await backend.sign(signer, headerSignatureInput(header))), k.subarray(kh + SIG));
  /** A sender-signed envelope whose header is changed and whose one signature the sender makes again. */
  const resignWhole = async (header: Uint8Array, signer: KeyRef = refs.sender, envelope = e, headerLength = h) => {
    const payload = envelope.subarray(headerLength, envelope.length - SIG);
    return concatBytes(header, payload, await signWhole(header, payload, KB, signer));
  };

  invalid('E_TRUNCATED: empty input', new Uint8Array(0), 'E_TRUNCATED');
  invalid('E_TRUNCATED: the magic alone', e.subarray(0, 5), 'E_TRUNCATED');
  invalid('E_TRUNCATED: ends inside the stanzas', e.subarray(0, h - 1), 'E_TRUNCATED');
  invalid('E_TRUNCATED: ends inside the payload header', e.subarray(0, h + 10), 'E_TRUNCATED');
  invalid('E_TRUNCATED: no chunk at all', e.subarray(0, h + PAYLOAD_HEADER), 'E_TRUNCATED');
  invalid('E_TRUNCATED: shorter than an empty chunk and a signature', e.subarray(0, h + PAYLOAD_HEADER + TAG + SIG - 1), 'E_TRUNCATED');
  invalid('E_TRUNCATED: message key, ends inside the header signature', k.subarray(0, kh + SIG - 1), 'E_TRUNCATED');
  invalid('E_TRUNCATED: message key, cut at a segment boundary (final segment dropped)', k.subarray(0, kStart + 2 * (KB + TAG + SIG)), 'E_TRUNCATED');
  invalid('E_TRUNCATED: message key, 79 bytes into a segment (less than an empty chunk and a signature)', k.subarray(0, kStart + KB + TAG + SIG + 79), 'E_TRUNCATED');
  invalid('E_AUTH_FAILED: message key, cut between a full chunk and its segment signature (the rest read as the final chunk)', k.subarray(0, kStart + KB + TAG + SIG + KB + TAG), 'E_AUTH_FAILED');
  invalid('E_FORMAT: wrong magic', flip(e, 0), 'E_FORMAT');
  invalid('E_FORMAT: random bytes', message(500, 'random'), 'E_FORMAT');
  invalid('E_FORMAT: zero recipients', mutate(e, (_, v) => v.setUint16(108, 0)), 'E_FORMAT');
  invalid('E_FORMAT: signing mode 3', mutate(e, (b) => void (b[107] = 3)), 'E_FORMAT');
  invalid('E_FORMAT: header_length one more than its stanzas', mutate(e, (_, v) => v.setUint32(8, h + 1)), 'E_FORMAT');
  invalid('E_FORMAT: created_at 2^53', mutate(e, (_, v) => v.setBigUint64(34, 2n ** 53n)), 'E_FORMAT');
  {
    const t = three.envelope;
    const th = three.headerLength;
    const p = PREAMBLE_FIXED_LENGTH + 'sender@example.com'.length;
    const lengths = three.header.stanzas.map((s) => stanzaLength(s.accountId));
    const s0 = t.subarray(p, p + lengths[0]!);
    const s1 = t.subarray(p + lengths[0]!, p + lengths[0]! + lengths[1]!);
    const s2 = t.subarray(p + lengths[0]! + lengths[1]!, th);
    const tail = t.subarray(th);
    const preamble = t.slice(0, p);
    invalid('E_FORMAT: stanzas out of key-id order', concatBytes(preamble, s1, s0, s2, tail), 'E_FORMAT');
    const twice = mutate(preamble, (_, v) => v.setUint32(8, p + 2 * lengths[0]! + lengths[2]!));
    invalid('E_FORMAT: a stanza twice', concatBytes(twice, s0, s0, s2, tail), 'E_FORMAT');
    const removed = mutate(preamble, (_, v) => {
      v.setUint16(108, 2);
      v.setUint32(8, p + lengths[0]! + lengths[2]!);
    });
    invalid('E_BAD_SIGNATURE: a stanza removed (count and length fixed up)', concatBytes(removed, s0, s2, tail), 'E_BAD_SIGNATURE', ['alice', 'bob', 'carol']);
    invalid('E_FORMAT: recipient kind 0x02 (reserved for groups)', mutate(t, (b) => void (b[p] = 2)), 'E_FORMAT', ['alice']);
    invalid('E_NOT_RECIPIENT: the envelope does not name the reader\'s account', t, 'E_NOT_RECIPIENT', ['alice'], { recipientAccount: 'dave@example.com' });
    invalid('E_NOT_RECIPIENT: alice\'s key, but her stanza names another account than the one she reads for', t, 'E_NOT_RECIPIENT', ['alice'], { recipientAccount: 'bob@example.com' });
  }
  {
    // FORMAT.md §3.1: the sender account id is signed; its length and charset are checked first.
    const a = withAccount.envelope;
    const ah = withAccount.headerLength;
    invalid('E_BAD_SIGNATURE: sender account id changed', flip(a, PREAMBLE_FIXED_LENGTH + 3), 'E_BAD_SIGNATURE', ['bob']);
    const header = a.slice(0, ah);
    header[PREAMBLE_FIXED_LENGTH + 5] = 0x20; // a space: not visible ASCII
    invalid('E_FORMAT: sender account id with a space, re-signed by the sender', await resignWhole(header, refs.sender, a, ah), 'E_FORMAT', ['bob']);
    invalid('E_FORMAT: sender account id length 129', mutate(e, (b) => void (b[110] = 129)), 'E_FORMAT');
  }
  invalid('E_FORMAT: a sender-signed payload longer than one segment', mutate(multi.envelope, (_, v) => v.setUint16(16, 1)), 'E_FORMAT');
  invalid('E_UNSUPPORTED_VERSION: version 1 (refused, FORMAT.md §13)', mutate(e, (b) => void (b[5] = 1)), 'E_UNSUPPORTED_VERSION');
  invalid('E_UNSUPPORTED_VERSION: version 3', mutate(e, (b) => void (b[5] = 3)), 'E_UNSUPPORTED_VERSION');
  invalid('E_UNSUPPORTED_VERSION: suite 0x0002', mutate(e, (_, v) => v.setUint16(6, 2)), 'E_UNSUPPORTED_VERSION');
  invalid('E_LIMIT: 4097 recipients', mutate(e, (_, v) => v.setUint16(108, 4097)), 'E_LIMIT');
  invalid('E_LIMIT: chunk size 512', mutate(e, (_, v) => v.setUint32(12, 512)), 'E_LIMIT');
  invalid('E_LIMIT: chunk size 1536 (not a power of two)', mutate(e, (_, v) => v.setUint32(12, 1536)), 'E_LIMIT');
  invalid('E_LIMIT: chunk size 2^25', mutate(e, (_, v) => v.setUint32(12, 2 ** 25)), 'E_LIMIT');
  invalid('E_LIMIT: zero chunks per segment', mutate(e, (_, v) => v.setUint16(16, 0)), 'E_LIMIT');
  invalid('E_LIMIT: segments over 16 MiB', mutate(e, (_, v) => v.setUint16(16, 16385)), 'E_LIMIT');
  invalid('E_LIMIT: header_length over the limit', mutate(e, (_, v) => v.setUint32(8, 0x7fffffff)), 'E_LIMIT');
  invalid('E_BAD_PUBLIC_KEY: sender key off the curve', flip(e, 106), 'E_BAD_PUBLIC_KEY');
  invalid('E_BAD_PUBLIC_KEY: sender key with compressed prefix 0x02', mutate(e, (b) => void (b[42] = 2)), 'E_BAD_PUBLIC_KEY');
  invalid('E_BAD_PUBLIC_KEY: message key off the curve', flip(k, PREAMBLE_FIXED_LENGTH + 64), 'E_BAD_PUBLIC_KEY');
  const encAt = kh - 48 - 65; // the one stanza's enc
  invalid('E_BAD_PUBLIC_KEY: stanza enc off the curve, header re-signed by the sender', await resignHeader(flip(k.subarray(0, kh), encAt + 64)), 'E_BAD_PUBLIC_KEY');
  invalid('E_BAD_SIGNATURE: epoch changed', flip(e, h - 48 - 65 - 1), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: message id changed', flip(e, 20), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: created_at changed', flip(e, 41), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: the sender\'s signature flipped', flip(e, e.length - 5), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: signature r = 0', mutate(e, (b) => b.fill(0, b.length - SIG, b.length - 32)), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: payload salt flipped (the sender signs salt and commitment)', flip(e, h + 3), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: chunk byte flipped (the sender signs its digest)', flip(e, h + PAYLOAD_HEADER + 2), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: header of one envelope, payload and signature of another', concatBytes(e.subarray(0, h), other.envelope.subarray(h)), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: the same header signed by another key', await resignHeader(k.slice(0, kh), refs.mallory), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: header and header signature from two envelopes', concatBytes(k.subarray(0, kh), keyed2.envelope.subarray(kh)), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: valid envelope, but expectedSender is another key', e, 'E_BAD_SIGNATURE', ['alice'], { expectedSender: 'mallory' });
  invalid('E_BAD_SIGNATURE: a segment signature flipped', flip(k, kStart + KB + TAG + 3), 'E_BAD_SIGNATURE');
  {
    const sigOf = (c: Uint8Array) => c.subarray(c.length - SIG);
    const body = (c: Uint8Array) => c.subarray(0, c.length - SIG);
    invalid('E_BAD_SIGNATURE: the signatures of segments 0 and 1 swapped', concatBytes(k.subarray(0, kStart), body(segment(0)), sigOf(segment(1)), body(segment(1)), sigOf(segment(0)), segment(2)), 'E_BAD_SIGNATURE');
    // ECDSA malleability: (r, n - s) verifies too; FORMAT.md §3.3 admits the low-S form only.
    const sig = p256.Signature.fromBytes(e.subarray(e.length - SIG), 'compact');
    const malleated = new p256.Signature(sig.r, p256.Point.CURVE().n - sig.s).toBytes('compact');
    invalid('E_BAD_SIGNATURE: the sender\'s signature malleated to (r, n - s) (high S)', concatBytes(e.subarray(0, e.length - SIG), malleated), 'E_BAD_SIGNATURE');
  }
  {
    // Issue 14: a co-recipient holds the content key. Bob keeps Alice's header and signatures
    // and writes his own payload for Carol: every tag and the commitment check, the signature does not.
    const t = three.envelope;
    const th = three.headerLength;
    const header = three.header;
    const bobs = header.stanzas.find((s) => s.accountId === 'bob@example.com')!;
    const contentKey = await openBase(
      { backend, ref: refs.bob },
      bobs.enc,
      stanzaInfo(t.subarray(0, header.preambleLength), bobs.accountId),
      stanzaAad(bobs.keyId, bobs.epoch),
      bobs.wrappedKey,
    );
    const payload = await encryptChunked(contentKey, three.context, message(300, 'forged'), { chunkSize: KB, salt: t.slice(th, th + 24) });
    const forged = concatBytes(t.subarray(0, th), payload, t.subarray(t.length - SIG));
    invalid('E_BAD_SIGNATURE: co-recipient forgery: bob re-made the payload with the content key, for carol', forged, 'E_BAD_SIGNATURE', ['carol'], { recipientAccount: 'carol@example.com' });
    const s = segmented.envelope;
    const sh = segmented.headerLength;
    const sHeader = segmented.header;
    const alices = sHeader.stanzas.find((x) => x.accountId === undefined)!;
    const key2 = await openBase({ backend, ref: refs.alice }, alices.enc, stanzaInfo(s.subarray(0, sHeader.preambleLength), undefined), stanzaAad(alices.keyId, alices.epoch), alices.wrappedKey);
    const p2 = await encryptChunked(key2, segmented.context, message(100, 'forged'), { chunkSize: KB, salt: s.slice(sh + SIG, sh + SIG + 24) });
    invalid(
      'E_BAD_SIGNATURE: co-recipient forgery with a message key: alice re-made the payload and kept the last segment signature, for bob',
      concatBytes(s.subarray(0, sh + SIG), p2, s.subarray(s.length - SIG)),
      'E_BAD_SIGNATURE',
      ['bob'],
      { recipientAccount: 'bob' },
    );
  }
  invalid('E_NOT_RECIPIENT: none of the keys is a recipient', e, 'E_NOT_RECIPIENT', ['eve', 'bob']);
  {
    const claimed = k.slice(0, kh);
    claimed.set(refs.mallory.publicKey, 42);
    invalid('E_AUTH_FAILED: another key names itself as sender and re-signs (the stanza binds the real sender)', await resignHeader(claimed, refs.mallory), 'E_AUTH_FAILED');
    const moved = k.slice(0, kh);
    moved.set(new TextEncoder().encode('carol'), PREAMBLE_FIXED_LENGTH + 65 + 2);
    invalid('E_AUTH_FAILED: the stanza moved to another account (same length), re-signed by the sender', await resignHeader(moved), 'E_AUTH_FAILED', ['alice'], { recipientAccount: 'carol' });
  }
  invalid('E_AUTH_FAILED: wrapped content key altered, re-signed by the sender', await resignHeader(flip(k.subarray(0, kh), encAt + 70)), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: message key envelope, payload salt flipped', flip(k, kh + SIG + 3), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: message key envelope, commitment flipped', flip(k, kh + SIG + 30), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: message key envelope, chunk byte flipped', flip(k, kStart + 2), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: message key envelope, tag byte flipped', flip(k, kStart + KB + TAG - 1), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: header and header signature of one envelope, payload of another', concatBytes(k.subarray(0, kh + SIG), keyed2.envelope.subarray(kh + SIG)), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: segments 0 and 1 swapped', concatBytes(k.subarray(0, kStart), segment(1), segment(0), segment(2)), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: segment 1 dropped', concatBytes(k.subarray(0, kStart), segment(0), segment(2)), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: segment 0 duplicated', concatBytes(k.subarray(0, kStart), segment(0), segment(0), segment(1), segment(2)), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: a byte after the final segment', concatBytes(k, Uint8Array.of(0)), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: cut mid-segment', k.subarray(0, kStart + KB + TAG + SIG + 500), 'E_AUTH_FAILED');
  {
    // Key commitment: a dishonest sender wraps different content keys for alice and bob and
    // encrypts the payload under alice's. Alice opens it; bob must not get another plaintext.
    const rng = insecureDeterministicRandom('commitment');
    const kAlice = rng(32);
    const kBob = rng(32);
    const who = [
      { ref: refs.alice, key: kAlice },
      { ref: refs.bob, key: kBob },
    ].sort((a, b) => (a.ref.id < b.ref.id ? -1 : 1));
    const fields: PreambleFields = {
      chunkSize: KB,
      segmentChunks: KB,
      messageId: rng(16),
      createdAt: VECTOR_CREATED_AT,
      senderPublicKey: refs.sender.publicKey,
      messageKey: undefined,
      senderAccountId: undefined,
    };
    const preamble = encodePreamble(fields, 2, 2 * stanzaLength(undefined));
    const stanzas = [];
    for (const r of who) {
      const keyId = fromHex(r.ref.id);
      const sealed = await sealBase(r.ref.publicKey, stanzaInfo(preamble, undefined), stanzaAad(keyId, 0), r.key, { ephemeralIkm: rng(32) });
      stanzas.push({ accountId: undefined, keyId, epoch: 0, enc: sealed.enc, wrappedKey: sealed.ciphertext });
    }
    const header = encodeHeader(fields, stanzas);
    const context = await payloadContext(header);
    const plaintext = message(100, 'commitment');
    const payload = await encryptChunked(kAlice, context, plaintext, { chunkSize: KB, salt: rng(24) });
    const forged = concatBytes(header, payload, await signWhole(header, payload, KB));
    const entry = (ref: KeyRef) => ({ keyId: ref.id, epoch: 0 });
    add({
      comment: 'key commitment: a sender wrapped different content keys for alice and bob; alice opens it',
      keys: ['alice'],
      envelope: toHex(forged),
      result: 'valid',
      plaintext: toHex(plaintext),
      sender: refs.sender.id,
      recipient: entry(refs.alice),
      message: { id: toHex(fields.messageId), createdAt: VECTOR_CREATED_AT, recipients: who.map((w) => entry(w.ref)) },
      contentKey: toHex(kAlice),
      payloadContext: toHex(context),
    });
    invalid('E_AUTH_FAILED: key commitment: the same envelope, bob\'s content key fails the commitment', forged, 'E_AUTH_FAILED', ['bob']);
  }

  return {
    description:
      'Sigil envelope format v2 vectors: success cases (keys, plaintext, envelope, signed message facts) and one or more cases per failure class with the expected SigilError code. Test keys only. Generated; do not edit.',
    format: 'docs/FORMAT.md, format v2, suite 0x0001',
    generator: 'packages/sdk/scripts/gen-envelope-vectors.ts',
    keys: file,
    tests,
  };
}

export function serialize(file: VectorFile): string {
  return `${JSON.stringify(file, null, 1)}\n`;
}

async function main(): Promise<void> {
  const text = serialize(await generateEnvelopeVectors());
  if (process.argv.includes('--check')) {
    const same = readFileSync(VECTORS_PATH, 'utf8') === text;
    console.log(same ? 'envelope-v2.json is up to date' : 'envelope-v2.json differs from the generator');
    process.exitCode = same ? 0 : 1;
    return;
  }
  writeFileSync(VECTORS_PATH, text);
  console.log(`wrote ${VECTORS_PATH}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
