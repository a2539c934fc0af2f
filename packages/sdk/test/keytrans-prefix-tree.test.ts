// The KEYTRANS prefix tree beyond the interop vectors: properties over random key sets (the
// root depends only on the set of leaves; every batch search verifies), and the proofs a
// verifier must refuse, each shown refused with its error code and detail.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk/errors';
import {
  PrefixTree,
  decodePrefixProof,
  encodePrefixProof,
  prefixRootFromProof,
  verifyPrefixProof,
  type PrefixLeaf,
  type PrefixProof,
  type PrefixSearch,
  type PrefixSearchResult,
} from '@sigil/sdk/transparency';
import { concatBytes, toHex } from '../src/internal/bytes.js';

/** A key from a few leading bytes (the rest zero), so that keys share long prefixes. */
const key = (...head: number[]): Uint8Array => {
  const k = new Uint8Array(32);
  k.set(head);
  return k;
};
const commitmentOf = (k: Uint8Array): Uint8Array => concatBytes(k.subarray(0, 16), Uint8Array.of(0xc0), new Uint8Array(15));
const leaf = (k: Uint8Array): PrefixLeaf => ({ vrfOutput: k, commitment: commitmentOf(k) });

function refused(f: () => unknown, detail: string): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(SigilError.is(caught, 'E_DIRECTORY_PROOF'), String(caught)).toBe(true);
  expect((caught as SigilError).detail).toBe(detail);
}

// Keys drawn from a small alphabet of first bytes and a second byte, so that deep shared
// prefixes, parents with one absent child and leaves pushed down all occur.
const keyArb = fc.tuple(fc.constantFrom(0x00, 0x01, 0x80, 0x81, 0xc0, 0xff), fc.integer({ min: 0, max: 255 })).map(([a, b]) => key(a, b));
const keySetArb = fc.uniqueArray(keyArb, { minLength: 0, maxLength: 24, selector: toHex });

describe('prefix tree properties', () => {
  it('the root depends only on the set of leaves, not on order or batching', () => {
    fc.assert(
      fc.property(keySetArb, fc.array(fc.nat(), { maxLength: 24 }), (keys, cuts) => {
        const whole = PrefixTree.empty.insert(keys.map(leaf));
        let batched = PrefixTree.empty;
        const shuffled = [...keys].reverse();
        for (let i = 0; i < shuffled.length; ) {
          const n = 1 + ((cuts[i] ?? 0) % 4);
          batched = batched.insert(shuffled.slice(i, i + n).map(leaf));
          i += n;
        }
        expect(toHex(batched.root)).toBe(toHex(whole.root));
        expect(whole.size).toBe(keys.length);
      }),
      { numRuns: 60 },
    );
  });

  it('every batch search of present and absent keys verifies, through the wire encoding', () => {
    fc.assert(
      fc.property(keySetArb, fc.uniqueArray(keyArb, { maxLength: 12, selector: toHex }), (present, probes) => {
        const tree = PrefixTree.empty.insert(present.map(leaf));
        const inTree = new Set(present.map(toHex));
        const { proof, commitments } = tree.search(probes);
        const searches: PrefixSearch[] = probes.map((k, i) => {
          expect(commitments[i] === undefined).toBe(!inTree.has(toHex(k)));
          return commitments[i] === undefined ? { vrfOutput: k } : { vrfOutput: k, commitment: commitments[i] };
        });
        verifyPrefixProof(tree.root, searches, decodePrefixProof(encodePrefixProof(proof)));
      }),
      { numRuns: 60 },
    );
  });

  it('an older version keeps its root after a newer one is built from it', () => {
    const v1 = PrefixTree.empty.insert([leaf(key(0x10))]);
    const root1 = toHex(v1.root);
    const v2 = v1.insert([leaf(key(0x11)), leaf(key(0x90))]);
    expect(toHex(v1.root)).toBe(root1);
    expect(v1.get(key(0x11))).toBeUndefined();
    expect(toHex(v2.get(key(0x11))!)).toBe(toHex(commitmentOf(key(0x11))));
  });

  it('the empty tree: root of 32 zero bytes, every key absent at depth 0', () => {
    expect(toHex(PrefixTree.empty.root)).toBe('00'.repeat(32));
    const { proof } = PrefixTree.empty.search([key(1)]);
    expect(proof).toEqual({ results: [{ type: 'nonInclusionParent', depth: 0 }], elements: [] });
    verifyPrefixProof(new Uint8Array(32), [{ vrfOutput: key(1) }], proof);
  });
});

describe('a verifier refuses', () => {
  // First bytes 0x00, 0x40, 0x50, 0xc0, 0xe0: a leaf at depth 2 (0b00), a pair pushed down to
  // depth 4 under 0b010 with an absent sibling 0b011, and an absent child 0b10 beside 0b11.
  const keys = [key(0x00), key(0x40), key(0x50), key(0xc0), key(0xe0)];
  const tree = PrefixTree.empty.insert(keys.map(leaf));
  const root = tree.root;
  const present = key(0x40);
  const absentLeaf = key(0x01); // ends at the leaf 0x00..
  const absentParent = key(0x80); // ends at the absent child 0b10
  const searches: PrefixSearch[] = [{ vrfOutput: present, commitment: commitmentOf(present) }, { vrfOutput: absentLeaf }, { vrfOutput: absentParent }];
  const { proof } = tree.search(searches.map((s) => s.vrfOutput));
  const withResults = (results: PrefixSearchResult[]): PrefixProof => ({ results, elements: proof.elements });

  it('nothing of the honest proof (the baseline)', () => {
    expect(proof.results.map((r) => r.type)).toEqual(['inclusion', 'nonInclusionLeaf', 'nonInclusionParent']);
    verifyPrefixProof(root, searches, proof);
  });

  it('a root that does not match', () => {
    const other = new Uint8Array(root);
    other[0]! ^= 1;
    refused(() => verifyPrefixProof(other, searches, proof), 'prefix-root');
    refused(() => verifyPrefixProof(tree.insert([leaf(key(0xf0))]).root, searches, proof), 'prefix-root');
  });

  it('the proof of one key offered for another', () => {
    const single = tree.search([present]).proof;
    refused(() => verifyPrefixProof(root, [{ vrfOutput: key(0x50), commitment: commitmentOf(key(0x50)) }], single), 'prefix-root');
  });

  it('a commitment other than the one in the tree', () => {
    const wrong = [{ vrfOutput: present, commitment: commitmentOf(key(0x41)) }, searches[1]!, searches[2]!];
    refused(() => verifyPrefixProof(root, wrong, proof), 'prefix-root');
  });

  it('a truncated proof: an element dropped, a result dropped, bytes cut', () => {
    refused(() => verifyPrefixProof(root, searches, { results: proof.results, elements: proof.elements.slice(0, -1) }), 'prefix-missing-element');
    refused(() => verifyPrefixProof(root, searches, { results: proof.results.slice(0, 2), elements: proof.elements }), 'prefix-result-count');
    const bytes = encodePrefixProof(proof);
    for (const cut of [1, 2, 33, bytes.length - 1]) {
      refused(() => decodePrefixProof(bytes.subarray(0, cut)), 'prefix-proof-encoding');
    }
  });

  it('an extra element, and trailing bytes', () => {
    refused(() => verifyPrefixProof(root, searches, { results: proof.results, elements: [...proof.elements, new Uint8Array(32)] }), 'prefix-extra-element');
    refused(() => decodePrefixProof(concatBytes(encodePrefixProof(proof), Uint8Array.of(0))), 'prefix-proof-encoding');
  });

  it('reordered elements and reordered results', () => {
    expect(proof.elements.length).toBeGreaterThanOrEqual(2);
    const elements = [...proof.elements].reverse();
    refused(() => verifyPrefixProof(root, searches, { results: proof.results, elements }), 'prefix-root');
    const [a, b, c] = proof.results as [PrefixSearchResult, PrefixSearchResult, PrefixSearchResult];
    expect(() => verifyPrefixProof(root, searches, withResults([b, a, c]))).toThrow(SigilError);
  });

  it('a present key proved absent by its own leaf', () => {
    const forged: PrefixSearchResult = { type: 'nonInclusionLeaf', leaf: leaf(present), depth: proof.results[0]!.depth };
    refused(() => verifyPrefixProof(root, [{ vrfOutput: present }, searches[1]!, searches[2]!], withResults([forged, proof.results[1]!, proof.results[2]!])), 'prefix-absent-but-present');
  });

  it('a non-inclusion leaf that is not on the searched path', () => {
    const offPath: PrefixSearchResult = { type: 'nonInclusionLeaf', leaf: leaf(key(0xc0)), depth: 2 };
    refused(() => verifyPrefixProof(root, searches, withResults([proof.results[0]!, offPath, proof.results[2]!])), 'prefix-leaf-off-path');
  });

  it('an inclusion without the expected commitment, a non-inclusion with one', () => {
    refused(() => verifyPrefixProof(root, [{ vrfOutput: present }, searches[1]!, searches[2]!], proof), 'prefix-missing-commitment');
    refused(() => verifyPrefixProof(root, [searches[0]!, { vrfOutput: absentLeaf, commitment: new Uint8Array(32) }, searches[2]!], proof), 'prefix-unexpected-commitment');
  });

  it('results that contradict each other where their paths meet', () => {
    // 0x40 and 0x50 are siblings at depth 4: one claiming depth 2 puts a leaf where the other's
    // path needs a parent.
    const pair = tree.search([key(0x40), key(0x50)]).proof;
    const s = [{ vrfOutput: key(0x40), commitment: commitmentOf(key(0x40)) }, { vrfOutput: key(0x50), commitment: commitmentOf(key(0x50)) }];
    verifyPrefixProof(root, s, pair);
    refused(() => prefixRootFromProof(s, { results: [{ type: 'inclusion', depth: 2 }, pair.results[1]!], elements: pair.elements }), 'prefix-conflict');
    // Two absent keys ending at the same absent child must agree on its depth.
    const twoAbsent = [key(0x80), key(0x90)];
    const p2 = tree.search(twoAbsent).proof;
    expect(p2.results).toEqual([{ type: 'nonInclusionParent', depth: 2 }, { type: 'nonInclusionParent', depth: 2 }]);
    refused(
      () => prefixRootFromProof(twoAbsent.map((vrfOutput) => ({ vrfOutput })), { results: [p2.results[0]!, { type: 'nonInclusionParent', depth: 3 }], elements: p2.elements }),
      'prefix-conflict',
    );
  });

  it('a depth out of range and an unknown result type on the wire', () => {
    refused(() => prefixRootFromProof([searches[2]!], { results: [{ type: 'nonInclusionParent', depth: 256 }], elements: [] }), 'prefix-depth');
    const bytes = encodePrefixProof(tree.search([absentParent]).proof);
    for (const type of [0, 4, 255]) {
      const bad = new Uint8Array(bytes);
      bad[1] = type;
      refused(() => decodePrefixProof(bad), 'prefix-proof-encoding');
    }
  });

  it('caller misuse is a RangeError: a key searched twice, a key of the wrong length', () => {
    expect(() => prefixRootFromProof([searches[1]!, searches[1]!], proof)).toThrow(RangeError);
    expect(() => tree.search([present, present])).toThrow(RangeError);
    expect(() => tree.search([new Uint8Array(31)])).toThrow(RangeError);
  });
});

describe('insertion refuses', () => {
  it('a key twice in one batch, a key already in the tree, wrong lengths', () => {
    expect(() => PrefixTree.empty.insert([leaf(key(1)), leaf(key(1))])).toThrow(RangeError);
    const t = PrefixTree.empty.insert([leaf(key(1))]);
    expect(() => t.insert([leaf(key(1))])).toThrow(RangeError);
    expect(() => t.insert([{ vrfOutput: new Uint8Array(31), commitment: new Uint8Array(32) }])).toThrow(RangeError);
    expect(() => t.insert([{ vrfOutput: key(2), commitment: new Uint8Array(33) }])).toThrow(RangeError);
  });

  it('two keys sharing 255 bits (no PrefixProof can name depth 256): E_LIMIT', () => {
    const a = new Uint8Array(32);
    const b = new Uint8Array(32);
    b[31] = 1;
    let caught: unknown;
    try {
      PrefixTree.empty.insert([leaf(a), leaf(b)]);
    } catch (e) {
      caught = e;
    }
    expect(SigilError.is(caught, 'E_LIMIT')).toBe(true);
    // One bit earlier is fine: the leaves sit at depth 255.
    b[31] = 2;
    const t = PrefixTree.empty.insert([leaf(a), leaf(b)]);
    expect(t.search([a]).proof.results[0]).toEqual({ type: 'inclusion', depth: 255 });
  });
});
