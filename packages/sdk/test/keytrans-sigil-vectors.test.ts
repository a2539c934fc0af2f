// Sigil's own KEYTRANS vectors (packages/sdk/test/vectors/keytrans/sigil-keytrans.json), the map
// as Sigil fills it: the file is exactly what gen-sigil-keytrans-vectors.ts generates, and every
// value in it checks through the public API, every must-reject case with its detail.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk/errors';
import { PrefixTree, decodePrefixProof, verifyCommitment, verifyPrefixProof, verifySearchKey } from '@sigil/sdk/transparency';
import { fromHex as hex, toHex } from '../src/internal/bytes.js';
import { SIGIL_KEYTRANS_VECTORS_PATH, generateSigilKeytransVectors } from './gen-sigil-keytrans-vectors.js';

interface Version {
  version: number;
  statement_hash: string;
  search_key: string;
  vrf_proof: string;
  opening: string;
  commitment: string;
}
interface File {
  vrf_public_key: string;
  accounts: { account_id: string; label: string; versions: Version[] }[];
  roots: { empty: string; after_batch_1_genesis: string; after_batch_2_rest: string };
  searches: { name: string; root: string; searches: { search_key: string; commitment?: string }[]; proof: string }[];
  rejects: { name: string; root: string; searches: { search_key: string; commitment?: string }[]; proof: string; error: 'E_DIRECTORY_PROOF'; detail: string }[];
}

const text = readFileSync(SIGIL_KEYTRANS_VECTORS_PATH, 'utf8');
const file = JSON.parse(text) as File;
const toSearch = (s: { search_key: string; commitment?: string }) =>
  s.commitment === undefined ? { vrfOutput: hex(s.search_key) } : { vrfOutput: hex(s.search_key), commitment: hex(s.commitment) };

describe('sigil-keytrans.json', () => {
  it('is exactly what gen-sigil-keytrans-vectors.ts generates', () => {
    expect(generateSigilKeytransVectors()).toBe(text);
  });

  it('each version: the VRF proof gives the search key, the opening opens the commitment', () => {
    const vrfPublicKey = hex(file.vrf_public_key);
    for (const account of file.accounts) {
      expect(new TextDecoder().decode(hex(account.label))).toBe(account.account_id);
      for (const v of account.versions) {
        expect(toHex(verifySearchKey(vrfPublicKey, hex(account.label), v.version, hex(v.vrf_proof)))).toBe(v.search_key);
        expect(verifyCommitment(hex(v.commitment), hex(v.opening), hex(account.label), v.version, hex(v.statement_hash))).toBe(true);
      }
    }
  });

  it('the roots: every genesis, then everything else', () => {
    const leaves = file.accounts.flatMap((a) => a.versions).map((v) => ({ vrfOutput: hex(v.search_key), commitment: hex(v.commitment), version: v.version }));
    const v1 = PrefixTree.empty.insert(leaves.filter((l) => l.version === 0));
    expect(toHex(PrefixTree.empty.root)).toBe(file.roots.empty);
    expect(toHex(v1.root)).toBe(file.roots.after_batch_1_genesis);
    expect(toHex(v1.insert(leaves.filter((l) => l.version > 0)).root)).toBe(file.roots.after_batch_2_rest);
  });

  for (const s of file.searches) {
    it(`search ${s.name} verifies`, () => {
      verifyPrefixProof(hex(s.root), s.searches.map(toSearch), decodePrefixProof(hex(s.proof)));
    });
  }

  it('has its 8 must-reject cases', () => expect(file.rejects).toHaveLength(8));
  for (const r of file.rejects) {
    it(`refuses ${r.name} (${r.detail})`, () => {
      let caught: unknown;
      try {
        verifyPrefixProof(hex(r.root), r.searches.map(toSearch), decodePrefixProof(hex(r.proof)));
      } catch (e) {
        caught = e;
      }
      expect(SigilError.is(caught, r.error)).toBe(true);
      expect((caught as SigilError).detail).toBe(r.detail);
    });
  }
});
