import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SigilError, WebCryptoKeyBackend } from '@sigil/sdk';
import {
  verifyLeafInCheckpoint,
  parseCheckpointText,
  CheckpointVerifier,
  MemoryCheckpointStateStore,
  emptyRoot,
  hashChildren,
  hashLeaf,
  logVerifierKey,
  openCheckpoint,
  parseLogVerifierKey,
  parseNote,
  signCheckpoint,
  signNote,
} from '@sigil/sdk/transparency';

// Published signed notes of type 0x02 (ECDSA P-256), with the logs' verifier keys, from
// github.com/transparency-dev/formats note/note_verifier_test.go (Apache-2.0): a checkpoint of
// the Sigstore Rekor log and one of the Pixel 6 binary transparency log.
const REKOR_VKEY =
  'rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=';
const REKOR_NOTE =
  'Rekor\n798034\nf+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=\n\n— rekor.sigstore.dev wNI9ajBEAiARInWIWyCdyG27CO6LPnPekyw20qO0YJfoaPaowGp/XgIgc+qEHS3+GKVClgqq20uDLet7MCoTURUCRdxwWBHHufk=\n';
const PIXEL_VKEY =
  'pixel6_transparency_log+91c16e30+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABN+4x0Jk1yTwvLFI9A4NDdGZcX0aiWVdWM5XJVy0M4VWD3AvyW5Q6Hs9A0mcDkpUoYgn+KKPNzFC0H3nN3q6JQ8=';
const PIXEL_NOTE =
  'DEFAULT\n10\nbsWRucJU5xJPHb5eBdOm6+DM+VelCZBuvtI3sHERJ9Y=\n\n— pixel6_transparency_log kcFuMDBFAiEAhqMAP8P6qf6QxtUJhzMhbN+MbZ9dwfUHzGQJmffJHtoCIGD0cNe47dHWBoPwYdgBCepB06/+g5O1FmYjXl06owL4\n';

const ORIGIN = 'sigil.test/log';
const enc = new TextEncoder();

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (SigilError.is(e)) return e.code;
    throw e;
  }
}

// RFC 9162 §2.1.1 MTH and §2.1.4.1 SUBPROOF, written plainly.
async function mth(leaves: Uint8Array[]): Promise<Uint8Array> {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return hashLeaf(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return hashChildren(await mth(leaves.slice(0, k)), await mth(leaves.slice(k)));
}
async function subproof(m: number, leaves: Uint8Array[], b: boolean): Promise<Uint8Array[]> {
  const n = leaves.length;
  if (m === n) return b ? [] : [await mth(leaves)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  if (m <= k) return [...(await subproof(m, leaves.slice(0, k), b)), await mth(leaves.slice(k))];
  return [...(await subproof(m - k, leaves.slice(k), false)), await mth(leaves.slice(0, k))];
}

async function logKey() {
  const backend = new WebCryptoKeyBackend();
  const key = await backend.generateKeyPair({ usage: 'sign', label: 'log' });
  return { backend, key, vkey: await logVerifierKey(ORIGIN, key.publicKey) };
}

describe('signed-note type 0x02 (ECDSA P-256) interop', () => {
  it('verifies the published Rekor and Pixel 6 checkpoints with their verifier keys', async () => {
    const rekor = await parseLogVerifierKey(REKOR_VKEY);
    expect(rekor.keyId).toBe(0xc0d23d6a);
    expect(rekor.vkey).toBe(REKOR_VKEY);
    const cp = await openCheckpoint(REKOR_NOTE, rekor, { origin: 'Rekor' });
    expect(cp.size).toBe(798034);
    expect(Buffer.from(cp.rootHash).toString('base64')).toBe('f+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=');
    const pixel = await parseLogVerifierKey(PIXEL_VKEY);
    expect((await openCheckpoint(PIXEL_NOTE, pixel, { origin: 'DEFAULT' })).size).toBe(10);
  });
  it('rejects a published note under another key, another name or another origin', async () => {
    const rekor = await parseLogVerifierKey(REKOR_VKEY);
    const pixel = await parseLogVerifierKey(PIXEL_VKEY);
    expect(await code(openCheckpoint(REKOR_NOTE, pixel, { origin: 'Rekor' }))).toBe('E_DIRECTORY_PROOF');
    const renamed = await logVerifierKey('bananas.sigstore.dev', rekor.publicKey);
    expect(await code(openCheckpoint(REKOR_NOTE, renamed, { origin: 'Rekor' }))).toBe('E_DIRECTORY_PROOF');
    expect(await code(openCheckpoint(REKOR_NOTE, rekor))).toBe('E_DIRECTORY_PROOF');
  });
  it('rejects malformed verifier keys', async () => {
    const name = 'rekor.sigstore.dev';
    const material = REKOR_VKEY.slice(`${name}+c0d23d6a+`.length);
    expect(await code(parseLogVerifierKey(`${name}+00000000+${material}`))).toBe('E_FORMAT');
    expect(await code(parseLogVerifierKey(`${name}+C0D23D6A+${material}`))).toBe('E_FORMAT');
    expect(await code(parseLogVerifierKey(`${name}+c0d23d6a`))).toBe('E_FORMAT');
    expect(await code(parseLogVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'))).toBe('E_FORMAT');
    const raw = Buffer.from(material, 'base64');
    raw[raw.length - 1]! ^= 1; // the point leaves the curve
    expect(await code(parseLogVerifierKey(`${name}+c0d23d6a+${raw.toString('base64')}`))).toBe('E_BAD_PUBLIC_KEY');
  });
});

describe('checkpoints signed through a KeyBackend', () => {
  it('round-trips, and the vkey text round-trips', async () => {
    const { backend, key, vkey } = await logKey();
    const rootHash = await mth([enc.encode('a'), enc.encode('b'), enc.encode('c')]);
    const note = await signCheckpoint({ origin: ORIGIN, size: 3, rootHash }, backend, key);
    expect(note.startsWith(`${ORIGIN}\n3\n${Buffer.from(rootHash).toString('base64')}\n\n— ${ORIGIN} `)).toBe(true);
    const cp = await openCheckpoint(note, await parseLogVerifierKey(vkey.vkey));
    expect(cp).toMatchObject({ origin: ORIGIN, size: 3, note });
    expect(cp.rootHash).toEqual(rootHash);
  });
  it('produces what an independent verifier accepts: DER ECDSA over the text, key ID = SHA-256(SPKI)[:4]', async () => {
    const { backend, key, vkey } = await logKey();
    const note = await signCheckpoint({ origin: ORIGIN, size: 5, rootHash: new Uint8Array(32).fill(3) }, backend, key);
    const [text, line] = note.split('\n\n') as [string, string];
    const spki = Buffer.from(vkey.vkey.slice(vkey.vkey.indexOf('+', ORIGIN.length + 1) + 1), 'base64').subarray(1);
    const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const jwk = publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    expect(point.equals(Buffer.from(key.publicKey))).toBe(true);
    const sig = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    expect(sig.subarray(0, 4)).toEqual(createHash('sha256').update(spki).digest().subarray(0, 4));
    expect(vkey.vkey.split('+')[1]).toBe(sig.subarray(0, 4).toString('hex'));
    expect(nodeVerify('sha256', Buffer.from(`${text}\n`), publicKey, sig.subarray(4))).toBe(true);
  });
  it('rejects every changed character of a signed checkpoint', async () => {
    const { backend, key, vkey } = await logKey();
    const note = await signCheckpoint({ origin: ORIGIN, size: 12, rootHash: new Uint8Array(32).fill(7) }, backend, key);
    for (let i = 0; i < note.length; i++) {
      const c = note.charCodeAt(i);
      const tampered = note.slice(0, i) + String.fromCharCode(c === 0x0a ? 0x20 : c ^ 1) + note.slice(i + 1);
      expect(await code(openCheckpoint(tampered, vkey)), `position ${i}`).toBe('E_DIRECTORY_PROOF');
    }
  });
  it('ignores signatures of other keys, and rejects a bad one by the log key', async () => {
    const { backend, key, vkey } = await logKey();
    const other = await backend.generateKeyPair({ usage: 'sign', label: 'witness' });
    const note = await signCheckpoint({ origin: ORIGIN, size: 1, rootHash: await hashLeaf(enc.encode('x')) }, backend, key);
    const witness = (await signNote(note.slice(0, note.indexOf('\n\n') + 1), 'witness.test', backend, other)).split('\n\n')[1]!;
    expect(await code(openCheckpoint(note + witness, vkey))).toBe('ok');
    const sigLine = note.split('\n\n')[1]!;
    const bad = sigLine.replace(/.{6}\n$/, 'AAAAAA\n');
    expect(await code(openCheckpoint(note + bad, vkey))).toBe('E_DIRECTORY_PROOF');
    const onlyWitness = note.split('\n\n')[0] + '\n\n' + witness;
    expect(await code(openCheckpoint(onlyWitness, vkey))).toBe('E_DIRECTORY_PROOF');
  });
  it('rejects a BER (non-canonical) re-encoding of a valid signature', async () => {
    const { backend, key, vkey } = await logKey();
    const note = await signCheckpoint({ origin: ORIGIN, size: 1, rootHash: await hashLeaf(enc.encode('x')) }, backend, key);
    const [body, line] = note.split('\n\n') as [string, string];
    const sig = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    const der = sig.subarray(4);
    const ber = Buffer.concat([sig.subarray(0, 4), Buffer.of(0x30, 0x81, der[1]!), der.subarray(2)]);
    expect(await code(openCheckpoint(`${body}\n\n— ${ORIGIN} ${ber.toString('base64')}\n`, vkey))).toBe('E_DIRECTORY_PROOF');
  });
  it('rejects checkpoint texts that are not exactly origin, size and root, even when signed', async () => {
    const { backend, key, vkey } = await logKey();
    const root = Buffer.from(new Uint8Array(32).fill(1)).toString('base64');
    const empty = Buffer.from(await emptyRoot()).toString('base64');
    const texts = [
      `${ORIGIN}\n1\n${root}\nextension line\n`,
      `${ORIGIN}\n01\n${root}\n`,
      `${ORIGIN}\n-1\n${root}\n`,
      `${ORIGIN}\n1.0\n${root}\n`,
      `${ORIGIN}\n99999999999999999\n${root}\n`,
      `${ORIGIN}\n1\n${root.slice(0, -4)}\n`,
      `${ORIGIN}\n1\n${root.replace('=', '')}\n`,
      `${ORIGIN}\n0\n${root}\n`,
      `${ORIGIN}\n1\n`,
    ];
    for (const text of texts) {
      const note = await signNote(text, ORIGIN, backend, key);
      expect(await code(openCheckpoint(note, vkey)), JSON.stringify(text)).toBe('E_DIRECTORY_PROOF');
    }
    const ok = await signNote(`${ORIGIN}\n0\n${empty}\n`, ORIGIN, backend, key);
    expect((await openCheckpoint(ok, vkey)).size).toBe(0);
  });
  it('rejects malformed notes before looking at signatures', () => {
    const bad = [
      'a\n1\nAA==\n\n— k AAAAAAA=', // no final newline
      'a\n1\nAA==\n— k AAAAAAA=\n', // no blank line
      'a\n1\nAA==\n\n',
      'a\n1\nAA==\n\n- k AAAAAAA=\n',
      'a\n1\nAA==\n\n— k+x AAAAAAA=\n',
      'a\n1\nAA==\n\n— k AAAAAAA= x\n',
      'a\n1\nAA==\n\n— k AAAA\n', // no signature bytes after the key ID
      'a\r\n1\nAA==\n\n— k AAAAAAA=\n',
      'a\ud8001\nAA==\n\n— k AAAAAAA=\n',
      `a\n\n${'— k AAAAAAA=\n'.repeat(33)}`,
    ];
    for (const note of bad) {
      expect(() => parseNote(note), JSON.stringify(note)).toThrow(expect.objectContaining({ code: 'E_DIRECTORY_PROOF' }));
    }
    expect(parseNote('a\n1\nAA==\n\n— k AAAAAAA=\n').signatures).toHaveLength(1);
  });
});

describe('CheckpointVerifier', () => {
  const leaves = Array.from({ length: 20 }, (_, i) => enc.encode(`statement ${i}`));
  async function setup() {
    const { backend, key, vkey } = await logKey();
    const sign = async (list: Uint8Array[]) =>
      signCheckpoint({ origin: ORIGIN, size: list.length, rootHash: await mth(list) }, backend, key);
    return { vkey, sign, verifier: new CheckpointVerifier({ logKey: vkey, state: new MemoryCheckpointStateStore() }) };
  }

  it('accepts a first checkpoint, then only extensions proven consistent', async () => {
    const { sign, verifier } = await setup();
    expect((await verifier.update(await sign(leaves.slice(0, 5)), [])).size).toBe(5);
    const proof = await subproof(5, leaves.slice(0, 13), true);
    expect((await verifier.update(await sign(leaves.slice(0, 13)), proof)).size).toBe(13);
    expect((await verifier.latest())?.size).toBe(13);
    expect((await verifier.update(await sign(leaves.slice(0, 13)), [])).size).toBe(13); // same tree again
  });
  it('detects a rollback', async () => {
    const { sign, verifier } = await setup();
    await verifier.update(await sign(leaves.slice(0, 8)), []);
    expect(await code(verifier.update(await sign(leaves.slice(0, 7)), []))).toBe('E_DIRECTORY_ROLLBACK');
    expect((await verifier.latest())?.size).toBe(8);
  });
  it('detects a fork at the same size and at a larger size', async () => {
    const { sign, verifier } = await setup();
    await verifier.update(await sign(leaves.slice(0, 8)), []);
    const forked = [...leaves.slice(0, 6), enc.encode('evil'), ...leaves.slice(7, 12)];
    expect(await code(verifier.update(await sign(forked.slice(0, 8)), []))).toBe('E_DIRECTORY_FORK');
    // A proof that is genuine for the forked history does not connect to the stored root.
    expect(await code(verifier.update(await sign(forked), await subproof(8, forked, true)))).toBe('E_DIRECTORY_FORK');
    // Neither does a proof of the honest history with the forked root.
    expect(await code(verifier.update(await sign(forked), await subproof(8, leaves.slice(0, 12), true)))).toBe('E_DIRECTORY_FORK');
    expect((await verifier.latest())?.size).toBe(8);
  });
  it('rejects checkpoints that do not verify and extra proofs', async () => {
    const { sign, verifier } = await setup();
    const other = await setup();
    await verifier.update(await sign(leaves.slice(0, 3)), []);
    expect(await code(verifier.update(await other.sign(leaves.slice(0, 4)), await subproof(3, leaves.slice(0, 4), true)))).toBe(
      'E_DIRECTORY_PROOF',
    );
    expect(await code(verifier.update(await sign(leaves.slice(0, 3)), [new Uint8Array(32)]))).toBe('E_DIRECTORY_PROOF');
  });
  it('accepts growth from the empty tree without a proof, and re-verifies the stored state', async () => {
    const { sign, vkey } = await setup();
    const state = new MemoryCheckpointStateStore();
    const verifier = new CheckpointVerifier({ logKey: vkey, state });
    await verifier.update(await sign([]), []);
    expect(await code(verifier.update(await sign(leaves.slice(0, 2)), [new Uint8Array(32)]))).toBe('E_DIRECTORY_PROOF');
    await verifier.update(await sign(leaves.slice(0, 2)), []);
    await state.save((await state.load())!.replace('\n2\n', '\n3\n'));
    expect(await code(verifier.latest())).toBe('E_DIRECTORY_PROOF');
  });
});

describe('parsers on arbitrary input (fast-check)', () => {
  const noteChars = fc.constantFrom('a', 'k', ' ', '\n', '—', '+', '=', '/', 'A', '0', '1', '\r', '\u00a0');
  it('parseNote returns or throws E_DIRECTORY_PROOF, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: noteChars, maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 80 })), (s) => {
        try {
          const parsed = parseNote(s);
          expect(parsed.text.endsWith('\n')).toBe(true);
          expect(parsed.signatures.length).toBeGreaterThan(0);
        } catch (e) {
          expect(SigilError.is(e, 'E_DIRECTORY_PROOF')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('parseCheckpointText accepts exactly its own output', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.constantFrom('a', '1', '0', '\n', '=', 'A', '+'), maxLength: 60 }), async (s) => {
        try {
          const cp = await parseCheckpointText(s);
          expect(`${cp.origin}\n${cp.size}\n${Buffer.from(cp.rootHash).toString('base64')}\n`).toBe(s);
        } catch (e) {
          expect(SigilError.is(e, 'E_DIRECTORY_PROOF')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('parseLogVerifierKey rejects arbitrary text with E_FORMAT or E_BAD_PUBLIC_KEY', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (s) => {
        expect(['E_FORMAT', 'E_BAD_PUBLIC_KEY']).toContain(await code(parseLogVerifierKey(s)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('verifyLeafInCheckpoint', () => {
  it('proves a leaf by its bytes, and nothing else', async () => {
    const leaves = Array.from({ length: 11 }, (_, i) => enc.encode(`statement ${i}`));
    const cp = { origin: ORIGIN, size: 11, rootHash: await mth(leaves) };
    // PATH for leaf 6 of 11, from the plain RFC 9162 §2.1.3.1 definition.
    const path = async (m: number, list: Uint8Array[]): Promise<Uint8Array[]> => {
      if (list.length <= 1) return [];
      let k = 1;
      while (k * 2 < list.length) k *= 2;
      return m < k ? [...(await path(m, list.slice(0, k))), await mth(list.slice(k))] : [...(await path(m - k, list.slice(k))), await mth(list.slice(0, k))];
    };
    const proof = await path(6, leaves);
    await verifyLeafInCheckpoint(cp, 6, leaves[6]!, proof);
    expect(await code(verifyLeafInCheckpoint(cp, 6, leaves[5]!, proof))).toBe('E_DIRECTORY_PROOF');
    expect(await code(verifyLeafInCheckpoint(cp, 5, leaves[6]!, proof))).toBe('E_DIRECTORY_PROOF');
    const otherRoot = await mth(leaves.slice(0, 10));
    expect(await code(verifyLeafInCheckpoint({ ...cp, rootHash: otherRoot }, 6, leaves[6]!, proof))).toBe('E_DIRECTORY_PROOF');
    expect(await code(verifyLeafInCheckpoint({ ...cp, size: 7 }, 6, leaves[6]!, proof))).toBe('E_DIRECTORY_PROOF');
  });
});
