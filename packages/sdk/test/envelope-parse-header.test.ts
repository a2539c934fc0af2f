// parseEnvelopeHeader: the header of a real envelope, read without a key; every prefix that ends
// inside the header is E_TRUNCATED, and bytes that are not an envelope fail with the FORMAT.md
// code of their first broken field (§3.1).
import { beforeAll, describe, expect, it } from 'vitest';
import { SigilError, WebCryptoKeyBackend, encrypt, type KeyRef } from '@sigil/sdk';
import { parseEnvelopeHeader } from '@sigil/sdk/envelope';
import { OFFSET_COUNT, OFFSET_HEADER_LENGTH, OFFSET_SENDER, OFFSET_SUITE, OFFSET_VERSION } from '../src/envelope/format.js';

let keys: WebCryptoKeyBackend;
let signer: KeyRef;
let alice: KeyRef;
let bob: KeyRef;
beforeAll(async () => {
  keys = new WebCryptoKeyBackend();
  signer = await keys.generateKeyPair({ usage: 'sign', label: 'sender' });
  alice = await keys.generateKeyPair({ usage: 'agree', label: 'alice' });
  bob = await keys.generateKeyPair({ usage: 'agree', label: 'bob' });
});

function codeOf(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return SigilError.is(e) ? e.code : (e as Error).constructor.name;
  }
}

describe('parseEnvelopeHeader', () => {
  it('reads the sender key and one stanza per recipient from a real envelope, without a key', async () => {
    const envelope = await encrypt(new Uint8Array(5000), { to: [{ publicKey: alice.publicKey, epoch: 3 }, { publicKey: bob.publicKey, epoch: 9 }], from: { backend: keys, ref: signer } });
    const header = parseEnvelopeHeader(envelope);
    expect(header.senderPublicKey).toEqual(signer.publicKey);
    expect(header.stanzas.map((s) => s.epoch).sort()).toEqual([3, 9]);
    expect(header.chunkSize).toBe(65536);
    const headerLength = new DataView(envelope.buffer, envelope.byteOffset).getUint32(OFFSET_HEADER_LENGTH); // FORMAT.md §3.1
    expect(codeOf(() => parseEnvelopeHeader(envelope.subarray(0, headerLength)))).toBe('ok'); // the header alone is enough
    const codes = new Set<string>();
    for (let n = 0; n < headerLength; n++) codes.add(codeOf(() => parseEnvelopeHeader(envelope.subarray(0, n))));
    expect([...codes]).toEqual(['E_TRUNCATED']);
  });

  it('refuses what is not an envelope with the code of its first broken field', async () => {
    const envelope = await encrypt(new Uint8Array(10), { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer } });
    const broken = (offset: number, value: number) => {
      const copy = envelope.slice();
      copy[offset] = value;
      return codeOf(() => parseEnvelopeHeader(copy));
    };
    expect(broken(0, 0x73)).toBe('E_FORMAT'); // magic
    expect(broken(OFFSET_VERSION, 1)).toBe('E_UNSUPPORTED_VERSION'); // version 1 is refused
    expect(broken(OFFSET_SUITE + 1, 2)).toBe('E_UNSUPPORTED_VERSION'); // suite
    expect(broken(OFFSET_HEADER_LENGTH, 0xff)).toBe('E_LIMIT'); // header length over the limit
    expect(broken(OFFSET_SENDER, 0x02)).toBe('E_BAD_PUBLIC_KEY'); // sender key prefix
    expect(broken(OFFSET_COUNT + 1, 0)).toBe('E_FORMAT'); // no recipient
    expect(codeOf(() => parseEnvelopeHeader(new Uint8Array(1000)))).toBe('E_FORMAT');
    expect(codeOf(() => parseEnvelopeHeader('SIGIL' as unknown as Uint8Array))).toBe('TypeError');
  });
});
