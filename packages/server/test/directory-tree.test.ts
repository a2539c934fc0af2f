// The log endpoints reproduce every inclusion and consistency path of the 8-leaf RFC 6962
// reference tree (test/vectors/transparency-dev-merkle) byte for byte over HTTP, and the
// signed checkpoints carry the reference roots.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDirectory, unb64u, type Directory } from './directory-fixture.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ref = JSON.parse(
  readFileSync(path.resolve(repoRoot, 'test/vectors/transparency-dev-merkle/rfc6962_reference_tree_8leaves.json'), 'utf8'),
) as {
  leafInputs: string[];
  roots: string[];
  inclusion: { leafIdx: number; treeSize: number; proof: string[] }[];
  consistency: { size1: number; size2: number; proof: string[] }[];
};
const hex = (b64: string) => Buffer.from(unb64u(b64)).toString('hex');

let dir: Directory;
beforeAll(async () => {
  dir = await makeDirectory();
  await dir.store.createAccount({ id: 'ref', kind: 'service', createdAt: 1 });
  // The reference leaves are raw data, not statements: they go into the store directly.
  for (const input of ref.leafInputs) await dir.store.appendStatement({ accountId: 'ref', kind: 'test', bytes: new Uint8Array(Buffer.from(input, 'hex')), now: 1 });
});
afterAll(() => dir.close());

describe('the 8-leaf reference tree through HTTP', () => {
  it('GET /v1/log/inclusion gives all 36 reference paths', async () => {
    expect(ref.inclusion).toHaveLength(36);
    for (const c of ref.inclusion) {
      const res = await dir.call('GET', `/v1/log/inclusion?index=${c.leafIdx}&size=${c.treeSize}`);
      expect(res.status).toBe(200);
      expect(res.body.hashesB64.map(hex), `${c.leafIdx}/${c.treeSize}`).toEqual(c.proof);
    }
  });

  it('GET /v1/log/consistency gives all reference paths from size >= 1', async () => {
    const cases = ref.consistency.filter((c) => c.size1 >= 1);
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const res = await dir.call('GET', `/v1/log/consistency?from=${c.size1}&to=${c.size2}`);
      expect(res.status).toBe(200);
      expect(res.body.hashesB64.map(hex), `${c.size1}->${c.size2}`).toEqual(c.proof);
    }
  });

  it('signs a checkpoint with the reference root of the 8-leaf tree', async () => {
    const cp = await dir.openNote((await dir.call('GET', '/v1/log/checkpoint')).body.note);
    expect(cp.size).toBe(8);
    expect(Buffer.from(cp.rootHash).toString('hex')).toBe(ref.roots[8]);
  });
});
