// Deterministic generator of Sigil's own KEYTRANS vectors, the map as Sigil will fill it
// (docs/TRANSPARENCY.md, "Verifiable map (KEYTRANS)"): label = account id, version = statement
// seq, value = statement hash. packages/sdk/test/vectors/keytrans/sigil-keytrans.json holds, for
// a few accounts, each version's search key, VRF proof, opening and commitment; the prefix-tree
// roots after two batches; batch search proofs; and must-reject proofs with the error expected,
// as data, so that a second implementation can test itself against them.
//
//   npx tsx --conditions=development packages/sdk/test/gen-sigil-keytrans-vectors.ts          # rewrite the file
//   npx tsx --conditions=development packages/sdk/test/gen-sigil-keytrans-vectors.ts --check  # exit 1 if different
//
// Reproducible: the VRF key, the statement hashes and the openings are SHA-256 of fixed names
// (openings drawn so are fit for vectors only: real ones come from the CSPRNG). The test
// keytrans-sigil-vectors.test.ts regenerates the file in memory and compares it byte for byte.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  PrefixTree,
  commit,
  ecvrfPublicKey,
  encodePrefixProof,
  proveSearchKey,
  type PrefixProof,
  type PrefixSearchResult,
} from '../src/transparency/index.js';
import { fromHex, toHex } from '../src/internal/bytes.js';

export const SIGIL_KEYTRANS_VECTORS_PATH = fileURLToPath(new URL('./vectors/keytrans/sigil-keytrans.json', import.meta.url));

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const named = (name: string): Uint8Array => sha256(utf8(`sigil keytrans vectors: ${name}`));

/** Account id -> number of statements (versions 0..n-1). */
const ACCOUNTS: readonly [string, number][] = [
  ['alice', 4],
  ['bob', 1],
  ['carol-ops@example', 3],
];

interface VersionVector {
  version: number;
  statement_hash: string;
  search_key: string;
  vrf_proof: string;
  opening: string;
  commitment: string;
}

interface SearchVector {
  name: string;
  root: string;
  searches: { label: string; version: number; search_key: string; commitment?: string }[];
  results: string[];
  proof: string;
}

interface RejectVector {
  name: string;
  tamper: string;
  root: string;
  searches: { search_key: string; commitment?: string }[];
  proof: string;
  error: 'E_DIRECTORY_PROOF';
  detail: string;
}

const hexResults = (proof: PrefixProof): string[] => proof.results.map((r) => `${r.type}@${r.depth}`);

export function generateSigilKeytransVectors(): string {
  const vrfSecretKey = named('vrf secret key'); // < q: checked by proveSearchKey
  const accounts = ACCOUNTS.map(([id, count]) => {
    const label = utf8(id);
    const versions: VersionVector[] = [];
    for (let version = 0; version < count; version++) {
      const statementHash = named(`statement ${id} ${version}`);
      const opening = named(`opening ${id} ${version}`).subarray(0, 16);
      const { searchKey, proof } = proveSearchKey(vrfSecretKey, label, version);
      versions.push({
        version,
        statement_hash: toHex(statementHash),
        search_key: toHex(searchKey),
        vrf_proof: toHex(proof),
        opening: toHex(opening),
        commitment: toHex(commit(opening, label, version, statementHash)),
      });
    }
    return { account_id: id, label: toHex(label), versions };
  });

  const leafOf = (v: VersionVector) => ({ vrfOutput: fromHex(v.search_key), commitment: fromHex(v.commitment) });
  const all = accounts.flatMap((a) => a.versions);
  // Batch 1: every genesis; batch 2: every later statement.
  const v1 = PrefixTree.empty.insert(all.filter((v) => v.version === 0).map(leafOf));
  const v2 = v1.insert(all.filter((v) => v.version > 0).map(leafOf));

  const search = (name: string, tree: PrefixTree, wanted: [string, number][]): SearchVector => {
    const keys = wanted.map(([id, version]) => proveSearchKey(vrfSecretKey, utf8(id), version).searchKey);
    const { proof, commitments } = tree.search(keys);
    return {
      name,
      root: toHex(tree.root),
      searches: wanted.map(([id, version], i) => {
        const c = commitments[i];
        const base = { label: toHex(utf8(id)), version, search_key: toHex(keys[i]!) };
        return c === undefined ? base : { ...base, commitment: toHex(c) };
      }),
      results: hexResults(proof),
      proof: toHex(encodePrefixProof(proof)),
    };
  };
  const searches = [
    // A binary ladder's lookups for alice: versions 0-3 exist, 4 and 7 do not.
    search('alice-ladder-after-batch-2', v2, [['alice', 0], ['alice', 1], ['alice', 3], ['alice', 4], ['alice', 7]]),
    search('alice-after-batch-1', v1, [['alice', 0], ['alice', 1]]),
    search('unknown-account', v2, [['mallory', 0]]),
    search('three-accounts', v2, [['bob', 0], ['carol-ops@example', 2], ['bob', 1]]),
  ];

  // Must-reject: the first search, tampered.
  const base = searches[0]!;
  const baseTree = v2;
  const baseKeys = base.searches.map((s) => fromHex(s.search_key));
  const baseProof = baseTree.search(baseKeys).proof;
  const asSearches = (s: SearchVector['searches']) => s.map(({ search_key, commitment }) => (commitment === undefined ? { search_key } : { search_key, commitment }));
  const reject = (name: string, tamper: string, detail: string, proof: PrefixProof, s = asSearches(base.searches), root = base.root): RejectVector => ({
    name,
    tamper,
    root,
    searches: s,
    proof: toHex(encodePrefixProof(proof)),
    error: 'E_DIRECTORY_PROOF',
    detail,
  });
  const flipped = baseProof.elements.map((e, i) => (i === 0 ? Uint8Array.from(e, (b, j) => (j === 0 ? b ^ 1 : b)) : e));
  const presentAbsent: PrefixSearchResult = {
    type: 'nonInclusionLeaf',
    leaf: leafOf(accounts[0]!.versions[0]!),
    depth: baseProof.results[0]!.depth,
  };
  const rejects = [
    reject('flipped-element', 'one bit flipped in the first copath element', 'prefix-root', { ...baseProof, elements: flipped }),
    reject('dropped-element', 'the last copath element removed', 'prefix-missing-element', { ...baseProof, elements: baseProof.elements.slice(0, -1) }),
    reject('reordered-elements', 'the copath elements in reverse order', 'prefix-root', { ...baseProof, elements: [...baseProof.elements].reverse() }),
    reject('wrong-root', 'checked against the root after batch 1', 'prefix-root', baseProof, asSearches(base.searches), toHex(v1.root)),
    reject('another-key', "alice's version 0 proof offered for bob's version 0", 'prefix-root', baseTree.search([baseKeys[0]!]).proof, [
      { search_key: searches[3]!.searches[0]!.search_key, commitment: searches[3]!.searches[0]!.commitment! },
    ]),
    reject('present-key-proved-absent', "alice's version 0 answered by her own leaf as nonInclusionLeaf", 'prefix-absent-but-present', {
      ...baseProof,
      results: [presentAbsent, ...baseProof.results.slice(1)],
    }, [{ search_key: base.searches[0]!.search_key }, ...asSearches(base.searches.slice(1))]),
    reject('missing-commitment', 'an inclusion checked without the commitment the opening gives', 'prefix-missing-commitment', baseProof, [
      { search_key: base.searches[0]!.search_key },
      ...asSearches(base.searches.slice(1)),
    ]),
    reject('result-dropped', 'the last result removed', 'prefix-result-count', { ...baseProof, results: baseProof.results.slice(0, -1) }),
  ];

  const file = {
    description:
      "Sigil's own KEYTRANS vectors (suite KT_128_SHA256_P256): label = account id (UTF-8), version = statement seq, value = statement hash; generated by packages/sdk/test/gen-sigil-keytrans-vectors.ts. Openings and statement hashes are SHA-256 of fixed names: vectors only.",
    vrf_secret_key: toHex(vrfSecretKey),
    vrf_public_key: toHex(ecvrfPublicKey(vrfSecretKey)),
    accounts,
    roots: { empty: toHex(PrefixTree.empty.root), after_batch_1_genesis: toHex(v1.root), after_batch_2_rest: toHex(v2.root) },
    searches,
    rejects,
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = generateSigilKeytransVectors();
  if (process.argv.includes('--check')) {
    const same = readFileSync(SIGIL_KEYTRANS_VECTORS_PATH, 'utf8') === text;
    console.log(same ? 'sigil-keytrans.json is up to date' : 'sigil-keytrans.json differs from the generator');
    process.exit(same ? 0 : 1);
  }
  writeFileSync(SIGIL_KEYTRANS_VECTORS_PATH, text);
  console.log(`wrote ${SIGIL_KEYTRANS_VECTORS_PATH}`);
}
