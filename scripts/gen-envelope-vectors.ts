// Deterministic generator of Sigil's own envelope vectors (format v1, docs/FORMAT.md §9):
// packages/sdk/test/vectors/envelope-v1.json. Success cases carry keys, plaintext and
// envelope; failure cases carry the expected error code as data, so a second implementation
// can test itself against them.
//
//   npx tsx --conditions=development scripts/gen-envelope-vectors.ts          # rewrite the file
//   npx tsx --conditions=development scripts/gen-envelope-vectors.ts --check  # compare, exit 1 if different
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
import type { GenerateKeyPairOptions, KeyBackend, KeyDescription, KeyRef } from '../packages/sdk/src/backend/key-backend.js';
import { SigilError } from '../packages/sdk/src/errors.js';
import { concatBytes, fromHex, toHex } from '../packages/sdk/src/internal/bytes.js';
import { checkP256PublicKey, keyIdOf } from '../packages/sdk/src/internal/p256.js';
import { sealBase } from '../packages/sdk/src/internal/hpke.js';
import { encryptChunked } from '../packages/sdk/src/internal/chunked-aead.js';
import { insecureEncryptWithRandom, type InsecureRandom } from '../packages/sdk/src/envelope/encrypt.js';
import { payloadContext, signatureInput, stanzaAad, stanzaInfo } from '../packages/sdk/src/envelope/binding.js';
import { PREAMBLE_FIXED_LENGTH, STANZA_LENGTH } from '../packages/sdk/src/envelope/format.js';

/** The vectors claim no sender account unless a case says so: their preamble is the fixed part. */
const PREAMBLE_LENGTH = PREAMBLE_FIXED_LENGTH;
import { encodeHeader, encodePreamble } from '../packages/sdk/src/envelope/header.js';

export const VECTORS_PATH = fileURLToPath(new URL('../packages/sdk/test/vectors/envelope-v1.json', import.meta.url));

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
      const block = createHash('sha256').update(`sigil/v1 test rng\0${seed}\0${counter++}`).digest();
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
  readonly envelope: string;
  readonly result: 'valid' | 'invalid';
  /** valid: the plaintext, sender key id, opened stanza; invalid: the error code. */
  readonly plaintext?: string;
  readonly sender?: string;
  /** valid: the sender account id the header claims, when it claims one. */
  readonly senderAccount?: string;
  readonly recipient?: { readonly keyId: string; readonly epoch: number };
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

export async function generateEnvelopeVectors(): Promise<VectorFile> {
  const { backend, refs, file } = await vectorKeys();
  const from = { backend, ref: refs.sender };
  const tests: VectorCase[] = [];
  const add = (c: Omit<VectorCase, 'tcId'>) => tests.push({ tcId: tests.length + 1, ...c });

  /** Encrypts deterministically and records the content key (the seam's first draw). */
  const make = async (seed: string, plaintext: Uint8Array, to: { name: KeyName; epoch?: number }[], chunkSize: number, accountId?: string) => {
    const rng = insecureDeterministicRandom(seed);
    let contentKey: Uint8Array | undefined;
    const recordingRng: InsecureRandom = (n) => {
      const out = rng(n);
      contentKey ??= out.slice();
      return out;
    };
    const envelope = await insecureEncryptWithRandom(
      plaintext,
      { to: to.map((r) => ({ publicKey: refs[r.name].publicKey, epoch: r.epoch ?? 0 })), from: { ...from, accountId }, chunkSize },
      recordingRng,
    );
    const headerLength = PREAMBLE_LENGTH + (accountId?.length ?? 0) + to.length * STANZA_LENGTH;
    const context = await payloadContext(envelope.subarray(0, headerLength), envelope.subarray(headerLength, headerLength + SIG));
    return { envelope, contentKey: contentKey as Uint8Array, context, headerLength };
  };

  const valid = async (
    comment: string,
    seed: string,
    plaintext: Uint8Array,
    to: { name: KeyName; epoch?: number }[],
    chunkSize: number,
    accountId?: string,
  ) => {
    const made = await make(seed, plaintext, to, chunkSize, accountId);
    for (const r of to) {
      add({
        comment: `${comment}; opened by ${r.name}`,
        keys: [r.name],
        envelope: toHex(made.envelope),
        result: 'valid',
        plaintext: toHex(plaintext),
        sender: refs.sender.id,
        ...(accountId === undefined ? {} : { senderAccount: accountId }),
        recipient: { keyId: refs[r.name].id, epoch: r.epoch ?? 0 },
        contentKey: toHex(made.contentKey),
        payloadContext: toHex(made.context),
      });
    }
    return made;
  };
  const invalid = (comment: string, envelope: Uint8Array, error: string, keys: KeyName[] = ['alice'], expectedSender?: KeyName) =>
    add({ comment, keys, ...(expectedSender === undefined ? {} : { expectedSender }), envelope: toHex(envelope), result: 'invalid', error });

  // ---- success cases (FORMAT.md §3-5) ----
  const KB = 1024;
  await valid('empty plaintext, chunk size 1024', 'empty', new Uint8Array(0), [{ name: 'alice' }], KB);
  await valid('"hello", epoch 7', 'hello', new TextEncoder().encode('hello'), [{ name: 'alice', epoch: 7 }], KB);
  await valid('chunk size - 1 bytes: one short chunk', 'cs-1', message(KB - 1, 'cs-1'), [{ name: 'alice' }], KB);
  await valid('exactly one chunk size: a full chunk and an empty final chunk', 'cs', message(KB, 'cs'), [{ name: 'alice' }], KB);
  await valid('chunk size + 1 bytes', 'cs+1', message(KB + 1, 'cs+1'), [{ name: 'alice' }], KB);
  const multi = await valid('three full chunks and a short one', 'multi', message(3 * KB + 100, 'multi'), [{ name: 'alice' }], KB);
  const three = await valid(
    'three recipients, epochs 0, 1, 2^32-1',
    'three',
    message(300, 'three'),
    [{ name: 'alice' }, { name: 'bob', epoch: 1 }, { name: 'carol', epoch: 0xffffffff }],
    KB,
  );
  await valid('Cobblestone-256 proper: chunk size 16384, 16385 bytes', 'cobblestone', message(16385, 'cobblestone'), [{ name: 'bob' }], 16384);
  await valid('default chunk size 65536', 'default', message(100, 'default'), [{ name: 'alice' }], 65536);
  const withAccount = await valid('sender account "alice@example.com" in the signed header', 'account', message(50, 'account'), [{ name: 'bob' }], KB, 'alice@example.com');
  const base = await make('base', message(200, 'base'), [{ name: 'alice' }], KB);
  const other = await make('other', message(200, 'other'), [{ name: 'alice' }], KB);

  // ---- failure cases, one or more per class (FORMAT.md §7-8) ----
  const e = base.envelope;
  const h = base.headerLength;
  const mutate = (bytes: Uint8Array, f: (b: Uint8Array, v: DataView) => void): Uint8Array => {
    const copy = bytes.slice();
    f(copy, new DataView(copy.buffer));
    return copy;
  };
  const flip = (bytes: Uint8Array, at: number) => mutate(bytes, (b) => void (b[at] = b[at]! ^ 0x01));
  const resign = async (header: Uint8Array, rest: Uint8Array, signer: KeyRef = refs.sender) =>
    concatBytes(header, await backend.sign(signer, signatureInput(header)), rest);

  invalid('E_TRUNCATED: empty input', new Uint8Array(0), 'E_TRUNCATED');
  invalid('E_TRUNCATED: the magic alone', e.subarray(0, 5), 'E_TRUNCATED');
  invalid('E_TRUNCATED: ends inside the stanzas', e.subarray(0, h - 1), 'E_TRUNCATED');
  invalid('E_TRUNCATED: ends inside the payload header', e.subarray(0, h + SIG + 10), 'E_TRUNCATED');
  invalid('E_TRUNCATED: no chunk at all', e.subarray(0, h + SIG + PAYLOAD_HEADER), 'E_TRUNCATED');
  invalid('E_TRUNCATED: final chunk shorter than a tag', e.subarray(0, h + SIG + PAYLOAD_HEADER + 15), 'E_TRUNCATED');
  const m = multi.envelope;
  const mStart = multi.headerLength + SIG + PAYLOAD_HEADER;
  invalid('E_TRUNCATED: cut at a chunk boundary (final chunk dropped)', m.subarray(0, mStart + 3 * (KB + TAG)), 'E_TRUNCATED');
  invalid('E_FORMAT: wrong magic', flip(e, 0), 'E_FORMAT');
  invalid('E_FORMAT: random bytes', message(500, 'random'), 'E_FORMAT');
  invalid('E_FORMAT: zero recipients', mutate(e, (_, v) => v.setUint16(77, 0)), 'E_FORMAT');
  {
    const t = three.envelope;
    const s0 = t.subarray(PREAMBLE_LENGTH, PREAMBLE_LENGTH + STANZA_LENGTH);
    const s1 = t.subarray(PREAMBLE_LENGTH + STANZA_LENGTH, PREAMBLE_LENGTH + 2 * STANZA_LENGTH);
    const tail = t.subarray(PREAMBLE_LENGTH + 2 * STANZA_LENGTH);
    invalid('E_FORMAT: stanzas out of key-id order', concatBytes(t.subarray(0, PREAMBLE_LENGTH), s1, s0, tail), 'E_FORMAT');
    invalid('E_FORMAT: a stanza twice', concatBytes(t.subarray(0, PREAMBLE_LENGTH), s0, s0, tail), 'E_FORMAT');
    const removed = concatBytes(t.subarray(0, PREAMBLE_LENGTH), s0, tail);
    new DataView(removed.buffer).setUint16(77, 2);
    invalid('E_BAD_SIGNATURE: a stanza removed (count fixed up)', removed, 'E_BAD_SIGNATURE', ['alice', 'bob', 'carol']);
  }
  {
    // FORMAT.md §3.1: the sender account id is signed; its length and charset are checked first.
    const a = withAccount.envelope;
    const ah = withAccount.headerLength;
    invalid('E_BAD_SIGNATURE: sender account id changed', flip(a, PREAMBLE_LENGTH + 3), 'E_BAD_SIGNATURE', ['bob']);
    const header = a.slice(0, ah);
    header[PREAMBLE_LENGTH + 5] = 0x20; // a space: not visible ASCII
    invalid('E_FORMAT: sender account id with a space, header re-signed by the sender', await resign(header, a.subarray(ah + SIG)), 'E_FORMAT', ['bob']);
    invalid('E_FORMAT: sender account id length 129', mutate(e, (b) => void (b[79] = 129)), 'E_FORMAT');
  }
  invalid('E_UNSUPPORTED_VERSION: version 2', mutate(e, (b) => void (b[5] = 2)), 'E_UNSUPPORTED_VERSION');
  invalid('E_UNSUPPORTED_VERSION: suite 0x0002', mutate(e, (_, v) => v.setUint16(6, 2)), 'E_UNSUPPORTED_VERSION');
  invalid('E_LIMIT: 4097 recipients', mutate(e, (_, v) => v.setUint16(77, 4097)), 'E_LIMIT');
  invalid('E_LIMIT: chunk size 512', mutate(e, (_, v) => v.setUint32(8, 512)), 'E_LIMIT');
  invalid('E_LIMIT: chunk size 1536 (not a power of two)', mutate(e, (_, v) => v.setUint32(8, 1536)), 'E_LIMIT');
  invalid('E_LIMIT: chunk size 2^25', mutate(e, (_, v) => v.setUint32(8, 2 ** 25)), 'E_LIMIT');
  invalid('E_BAD_PUBLIC_KEY: sender key off the curve', flip(e, 76), 'E_BAD_PUBLIC_KEY');
  invalid('E_BAD_PUBLIC_KEY: sender key with compressed prefix 0x02', mutate(e, (b) => void (b[12] = 2)), 'E_BAD_PUBLIC_KEY');
  const encAt = PREAMBLE_LENGTH + 16 + 4;
  invalid(
    'E_BAD_PUBLIC_KEY: stanza enc off the curve, header re-signed by the sender',
    await resign(flip(e.subarray(0, h), encAt + 64), e.subarray(h + SIG)),
    'E_BAD_PUBLIC_KEY',
  );
  invalid('E_BAD_SIGNATURE: epoch changed', flip(e, encAt - 1), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: signature byte flipped', flip(e, h + 5), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: signature r = 0', mutate(e, (b) => b.fill(0, h, h + 32)), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: the same header signed by another key', await resign(e.slice(0, h), e.subarray(h + SIG), refs.mallory), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: header and signature from two envelopes', concatBytes(e.subarray(0, h), other.envelope.subarray(h)), 'E_BAD_SIGNATURE');
  invalid('E_BAD_SIGNATURE: valid envelope, but expectedSender is another key', e, 'E_BAD_SIGNATURE', ['alice'], 'mallory');
  invalid('E_NOT_RECIPIENT: none of the keys is a recipient', e, 'E_NOT_RECIPIENT', ['eve', 'bob']);
  {
    // ECDSA malleability: (r, n - s) verifies too, but the payload context covers the
    // signature bytes, so the altered envelope fails the commitment.
    const sig = p256.Signature.fromBytes(e.subarray(h, h + SIG), 'compact');
    const malleated = new p256.Signature(sig.r, p256.Point.CURVE().n - sig.s).toBytes('compact');
    if (!p256.verify(malleated, signatureInput(e.subarray(0, h)), refs.sender.publicKey, { lowS: false })) throw new Error('malleated signature must verify');
    invalid('E_AUTH_FAILED: signature malleated to (r, n - s): it verifies, the payload context does not match', concatBytes(e.subarray(0, h), malleated, e.subarray(h + SIG)), 'E_AUTH_FAILED');
  }
  {
    const claimed = e.slice(0, h);
    claimed.set(refs.mallory.publicKey, 12);
    invalid(
      'E_AUTH_FAILED: another key names itself as sender and re-signs (the stanza binds the real sender)',
      await resign(claimed, e.subarray(h + SIG), refs.mallory),
      'E_AUTH_FAILED',
    );
  }
  invalid('E_AUTH_FAILED: wrapped content key altered, re-signed by the sender', await resign(flip(e.subarray(0, h), encAt + 70), e.subarray(h + SIG)), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: payload salt flipped', flip(e, h + SIG + 3), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: commitment flipped', flip(e, h + SIG + 30), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: chunk byte flipped', flip(e, h + SIG + PAYLOAD_HEADER + 2), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: tag byte flipped', flip(e, e.length - 1), 'E_AUTH_FAILED');
  invalid('E_AUTH_FAILED: payload of another envelope', concatBytes(e.subarray(0, h + SIG), other.envelope.subarray(h + SIG)), 'E_AUTH_FAILED');
  {
    const chunk = (k: number) => m.subarray(mStart + k * (KB + TAG), Math.min(m.length, mStart + (k + 1) * (KB + TAG)));
    const head = m.subarray(0, mStart);
    invalid('E_AUTH_FAILED: chunks 0 and 1 swapped', concatBytes(head, chunk(1), chunk(0), chunk(2), chunk(3)), 'E_AUTH_FAILED');
    invalid('E_AUTH_FAILED: chunk 1 dropped', concatBytes(head, chunk(0), chunk(2), chunk(3)), 'E_AUTH_FAILED');
    invalid('E_AUTH_FAILED: chunk 0 duplicated', concatBytes(head, chunk(0), chunk(0), chunk(1), chunk(2), chunk(3)), 'E_AUTH_FAILED');
    invalid('E_AUTH_FAILED: a byte after the final chunk', concatBytes(m, Uint8Array.of(0)), 'E_AUTH_FAILED');
    invalid('E_AUTH_FAILED: cut mid-chunk', m.subarray(0, mStart + KB + TAG + 500), 'E_AUTH_FAILED');
  }
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
    const preamble = encodePreamble(KB, refs.sender.publicKey, 2, undefined);
    const stanzas = [];
    for (const r of who) {
      const keyId = fromHex(r.ref.id);
      const sealed = await sealBase(r.ref.publicKey, stanzaInfo(preamble), stanzaAad(keyId, 0), r.key, { ephemeralIkm: rng(32) });
      stanzas.push({ keyId, epoch: 0, enc: sealed.enc, wrappedKey: sealed.ciphertext });
    }
    const header = encodeHeader(preamble, stanzas);
    const signature = await backend.sign(refs.sender, signatureInput(header));
    const context = await payloadContext(header, signature);
    const plaintext = message(100, 'commitment');
    const forged = concatBytes(header, signature, await encryptChunked(kAlice, context, plaintext, { chunkSize: KB, salt: rng(24) }));
    add({
      comment: 'key commitment: a sender wrapped different content keys for alice and bob; alice opens it',
      keys: ['alice'],
      envelope: toHex(forged),
      result: 'valid',
      plaintext: toHex(plaintext),
      sender: refs.sender.id,
      recipient: { keyId: refs.alice.id, epoch: 0 },
      contentKey: toHex(kAlice),
      payloadContext: toHex(context),
    });
    invalid('E_AUTH_FAILED: key commitment: the same envelope, bob\'s content key fails the commitment', forged, 'E_AUTH_FAILED', ['bob']);
  }

  return {
    description:
      'Sigil envelope format v1 vectors: success cases (keys, plaintext, envelope) and one or more cases per failure class with the expected SigilError code. Test keys only. Generated; do not edit.',
    format: 'docs/FORMAT.md, format v1, suite 0x0001',
    generator: 'scripts/gen-envelope-vectors.ts',
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
    console.log(same ? 'envelope-v1.json is up to date' : 'envelope-v1.json differs from the generator');
    process.exitCode = same ? 0 : 1;
    return;
  }
  writeFileSync(VECTORS_PATH, text);
  console.log(`wrote ${VECTORS_PATH}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
