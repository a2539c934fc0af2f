// KEYTRANS interop vectors: what the draft author's implementation (katie) computes for the
// commitment, the P-256 suite's VRF over VrfInput, the prefix tree's roots and batch search
// proofs, and the proofs and openings it refuses. Published as data by github.com/OR13/kt and
// vendored, with origin and checksums, in packages/sdk/test/vectors/keytrans/SOURCES.md.
// Sigil's implementation is written from the draft; these say it agrees byte for byte.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk/errors';
import {
  PrefixTree,
  commit,
  commitmentValue,
  decodePrefixProof,
  ecvrfPublicKey,
  encodePrefixProof,
  proveSearchKey,
  verifyCommitment,
  verifyPrefixProof,
  verifySearchKey,
  vrfInput,
  type PrefixSearch,
  type PrefixSearchResult,
} from '@sigil/sdk/transparency';
import { fromHex as hex, toHex } from '../src/internal/bytes.js';

const load = <T>(name: string): { cases: T[] } =>
  JSON.parse(readFileSync(new URL(`./vectors/keytrans/or13-kt/${name}`, import.meta.url), 'utf8')) as { cases: T[] };

interface CommitmentCase {
  name: string;
  input: { label: string; opening: string; update: { value: string }; version: number; commitment?: string };
  expect: { commitment?: string; commitment_value?: string; error?: boolean };
}
interface VrfCase {
  name: string;
  input: { label: string; private_key: string; public_key: string; version: number; proof?: string };
  expect: { output?: string; proof?: string; vrf_input?: string; error?: boolean };
}
interface Entry {
  vrf_output: string;
  commitment: string;
}
interface WireResult {
  result_type: 1 | 2 | 3;
  depth: number;
  leaf?: Entry;
}
interface PrefixTreeCase {
  name: string;
  input: { entries: Entry[]; searches: string[] };
  expect: { commitments: string[]; elements: string[]; proof: string; results: WireResult[]; root: string };
}
interface MutationCase {
  name: string;
  input: { entries: Entry[]; add: Entry[]; remove: string[] };
  expect: { before: string; after: string; proof: string; elements: string[]; results: WireResult[] };
}
interface TamperedCase {
  name: string;
  input: {
    kind: 'prefix-tree' | 'commitment';
    proof?: string;
    root?: string;
    searches?: { vrf_output: string; commitment?: string }[];
    commitment?: string;
    label?: string;
    opening?: string;
    update?: { value: string };
    version?: number;
  };
  expect: { error: true; tamper: string };
}

const leafOf = (e: Entry) => ({ vrfOutput: hex(e.vrf_output), commitment: hex(e.commitment) });
const resultOf = (r: WireResult): PrefixSearchResult =>
  r.result_type === 1
    ? { type: 'inclusion', depth: r.depth }
    : r.result_type === 3
      ? { type: 'nonInclusionParent', depth: r.depth }
      : { type: 'nonInclusionLeaf', leaf: leafOf(r.leaf!), depth: r.depth };

function expectDirectoryProofError(f: () => unknown): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(SigilError.is(caught, 'E_DIRECTORY_PROOF'), String(caught)).toBe(true);
}

describe('commitment.json (HMAC-SHA256 under Kc over CommitmentValue)', () => {
  const { cases } = load<CommitmentCase>('commitment.json');
  it('has its 7 cases', () => expect(cases).toHaveLength(7));
  for (const c of cases) {
    it(c.name, () => {
      const args = [hex(c.input.opening), hex(c.input.label), c.input.version, hex(c.input.update.value)] as const;
      if (c.expect.error) {
        expect(verifyCommitment(hex(c.input.commitment!), ...args)).toBe(false);
        return;
      }
      expect(toHex(commitmentValue(...args))).toBe(c.expect.commitment_value);
      expect(toHex(commit(...args))).toBe(c.expect.commitment);
      expect(verifyCommitment(hex(c.expect.commitment!), ...args)).toBe(true);
    });
  }
});

describe('vrf-p256.json (ECVRF-P256-SHA256-TAI over VrfInput, suite KT_128_SHA256_P256)', () => {
  const { cases } = load<VrfCase>('vrf-p256.json');
  it('has its 11 cases', () => expect(cases).toHaveLength(11));
  for (const c of cases) {
    it(c.name, () => {
      const label = hex(c.input.label);
      const pk = hex(c.input.public_key);
      expect(toHex(ecvrfPublicKey(hex(c.input.private_key)))).toBe(c.input.public_key);
      if (c.expect.error) {
        expectDirectoryProofError(() => verifySearchKey(pk, label, c.input.version, hex(c.input.proof!)));
        return;
      }
      expect(toHex(vrfInput(label, c.input.version))).toBe(c.expect.vrf_input);
      const { searchKey, proof } = proveSearchKey(hex(c.input.private_key), label, c.input.version);
      expect(toHex(proof)).toBe(c.expect.proof);
      expect(toHex(searchKey)).toBe(c.expect.output);
      expect(toHex(verifySearchKey(pk, label, c.input.version, hex(c.expect.proof!)))).toBe(c.expect.output);
    });
  }
});

describe('prefix-tree.json (roots, batch search results, copath elements, wire encoding)', () => {
  const { cases } = load<PrefixTreeCase>('prefix-tree.json');
  it('has its 11 cases', () => expect(cases).toHaveLength(11));
  for (const c of cases) {
    describe(c.name, () => {
      const tree = PrefixTree.empty.insert(c.input.entries.map(leafOf));
      const searches = c.input.searches.map(hex);

      it('builds the same root', () => {
        expect(toHex(tree.root)).toBe(c.expect.root);
      });

      it('answers the batch with the same proof, byte for byte', () => {
        const { proof, commitments } = tree.search(searches);
        expect(proof.results).toEqual(c.expect.results.map(resultOf));
        expect(proof.elements.map(toHex)).toEqual(c.expect.elements);
        expect(commitments.map((x) => (x === undefined ? '' : toHex(x)))).toEqual(c.expect.commitments);
        expect(toHex(encodePrefixProof(proof))).toBe(c.expect.proof);
      });

      it('verifies the decoded proof against the root', () => {
        const proof = decodePrefixProof(hex(c.expect.proof));
        const withCommitments: PrefixSearch[] = searches.map((vrfOutput, i) => {
          const commitment = c.expect.commitments[i];
          return commitment ? { vrfOutput, commitment: hex(commitment) } : { vrfOutput };
        });
        verifyPrefixProof(hex(c.expect.root), withCommitments, proof);
      });
    });
  }
});

describe('prefix-mutation.json (roots before and after a batch of additions)', () => {
  const { cases } = load<MutationCase>('prefix-mutation.json');
  it('has its 8 cases', () => expect(cases).toHaveLength(8));
  for (const c of cases) {
    it(`${c.name}: the tree before`, () => {
      expect(toHex(PrefixTree.empty.insert(c.input.entries.map(leafOf)).root)).toBe(c.expect.before);
    });
  }
  // Sigil never removes a search key (a label-version pair is written once): the removal cases
  // serve only for their "before" trees.
  for (const c of cases.filter((x) => x.input.remove.length === 0)) {
    it(`${c.name}: one batch, one key at a time, and a proof of absence before`, () => {
      const before = PrefixTree.empty.insert(c.input.entries.map(leafOf));
      expect(toHex(before.insert(c.input.add.map(leafOf)).root)).toBe(c.expect.after);
      expect(toHex(c.input.add.reduce((t, e) => t.insert([leafOf(e)]), before).root)).toBe(c.expect.after);
      const keys = c.input.add.map((e) => hex(e.vrf_output));
      expect(toHex(encodePrefixProof(before.search(keys).proof))).toBe(c.expect.proof);
      verifyPrefixProof(hex(c.expect.before), keys.map((vrfOutput) => ({ vrfOutput })), decodePrefixProof(hex(c.expect.proof)));
    });
  }
  it('has two addition-only cases', () => {
    expect(cases.filter((x) => x.input.remove.length === 0).map((x) => x.name)).toEqual(['add-two-leaves', 'add-pushing-a-leaf-down']);
  });
});

describe('tampered-prefix-commitment.json (proofs and openings katie refuses)', () => {
  const { cases } = load<TamperedCase>('tampered-prefix-commitment.json');
  it('has its 4 prefix and 4 commitment cases', () => {
    expect(cases.filter((c) => c.input.kind === 'prefix-tree')).toHaveLength(4);
    expect(cases.filter((c) => c.input.kind === 'commitment')).toHaveLength(4);
  });
  for (const c of cases) {
    it(`${c.name}: ${c.expect.tamper}`, () => {
      const i = c.input;
      if (i.kind === 'commitment') {
        expect(verifyCommitment(hex(i.commitment!), hex(i.opening!), hex(i.label!), i.version!, hex(i.update!.value))).toBe(false);
        return;
      }
      const searches = i.searches!.map((s) => (s.commitment ? { vrfOutput: hex(s.vrf_output), commitment: hex(s.commitment) } : { vrfOutput: hex(s.vrf_output) }));
      expectDirectoryProofError(() => verifyPrefixProof(hex(i.root!), searches, decodePrefixProof(hex(i.proof!))));
    });
  }
});
