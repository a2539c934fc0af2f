import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk';
import { hashLeaf, hashChildren, emptyRoot, verifyInclusion, verifyConsistency } from '@sigil/sdk/transparency';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const vectors = path.resolve(repoRoot, 'test/vectors/transparency-dev-merkle');

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = path.join(dir, name);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.json') ? [p] : [];
    });
}

// Sizes and indices are uint64 upstream (one probe uses 2^64-1): read them as bigint, not as a
// rounded double.
function readProbe(file: string): Record<string, unknown> {
  const text = readFileSync(file, 'utf8').replace(/"(leafIdx|treeSize|size1|size2)":\s*(\d+)/g, '"$1": "$2"');
  const raw = JSON.parse(text) as Record<string, unknown>;
  for (const k of ['leafIdx', 'treeSize', 'size1', 'size2']) if (k in raw) raw[k] = BigInt(raw[k] as string);
  return raw;
}

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

async function outcome(run: () => Promise<void>): Promise<'ok' | 'error'> {
  try {
    await run();
    return 'ok';
  } catch (e) {
    if (SigilError.is(e, 'E_DIRECTORY_PROOF')) return 'error';
    throw e;
  }
}

describe('RFC 9162 hashing', () => {
  const ref = JSON.parse(readFileSync(path.join(vectors, 'rfc6962_reference_tree_8leaves.json'), 'utf8')) as {
    leafInputs: string[];
    leafHashes: string[];
    roots: string[];
  };
  it('hashes the 8 reference leaves and the empty tree', async () => {
    for (let i = 0; i < 8; i++) {
      expect(Buffer.from(await hashLeaf(hex(ref.leafInputs[i]!))).toString('hex')).toBe(ref.leafHashes[i]);
    }
    expect(Buffer.from(await emptyRoot()).toString('hex')).toBe(ref.roots[0]);
    const l = hex(ref.leafHashes[0]!);
    const r = hex(ref.leafHashes[1]!);
    expect(Buffer.from(await hashChildren(l, r)).toString('hex')).toBe(ref.roots[2]);
  });
});

describe('inclusion proof verifier on transparency-dev/merkle testdata', () => {
  const files = walk(path.join(vectors, 'testdata/inclusion'));
  it('has the pinned number of probes', () => {
    expect(files.length).toBe(98);
    expect(files.filter((f) => readProbe(f).wantErr === false).length).toBe(6);
  });
  it.each(files.map((f) => [path.relative(vectors, f), f] as const))('%s', async (_name, file) => {
    const t = readProbe(file);
    const proof = ((t.proof as string[] | null) ?? []).map(b64);
    const got = await outcome(() =>
      verifyInclusion(t.leafIdx as bigint, t.treeSize as bigint, b64(t.leafHash as string), proof, b64(t.root as string)),
    );
    expect(got).toBe(t.wantErr ? 'error' : 'ok');
  });
});

describe('consistency proof verifier on transparency-dev/merkle testdata', () => {
  const files = walk(path.join(vectors, 'testdata/consistency'));
  it('has the pinned number of probes', () => {
    expect(files.length).toBe(98);
    expect(files.filter((f) => readProbe(f).wantErr === false).length).toBe(6);
  });
  it.each(files.map((f) => [path.relative(vectors, f), f] as const))('%s', async (_name, file) => {
    const t = readProbe(file);
    const proof = ((t.proof as string[] | null) ?? []).map(b64);
    const got = await outcome(() =>
      verifyConsistency(t.size1 as bigint, t.size2 as bigint, proof, b64(t.root1 as string), b64(t.root2 as string)),
    );
    expect(got).toBe(t.wantErr ? 'error' : 'ok');
  });
});

describe('reference tree proofs verify', () => {
  const ref = JSON.parse(readFileSync(path.join(vectors, 'rfc6962_reference_tree_8leaves.json'), 'utf8')) as {
    leafHashes: string[];
    roots: string[];
    inclusion: { leafIdx: number; treeSize: number; proof: string[] }[];
    consistency: { size1: number; size2: number; proof: string[] }[];
  };
  it('every inclusion path (36) and every consistency path (36) of the 8-leaf tree', async () => {
    expect(ref.inclusion.length).toBe(36);
    expect(ref.consistency.length).toBe(36);
    for (const c of ref.inclusion) {
      await verifyInclusion(c.leafIdx, c.treeSize, hex(ref.leafHashes[c.leafIdx]!), c.proof.map(hex), hex(ref.roots[c.treeSize]!));
    }
    for (const c of ref.consistency) {
      await verifyConsistency(c.size1, c.size2, c.proof.map(hex), hex(ref.roots[c.size1]!), hex(ref.roots[c.size2]!));
    }
  });
  it('rejects every single-bit change of every proof node', async () => {
    for (const c of ref.inclusion.filter((x) => x.proof.length > 0)) {
      for (let i = 0; i < c.proof.length; i++) {
        const proof = c.proof.map(hex);
        proof[i]![0]! ^= 1;
        await expect(
          verifyInclusion(c.leafIdx, c.treeSize, hex(ref.leafHashes[c.leafIdx]!), proof, hex(ref.roots[c.treeSize]!)),
        ).rejects.toMatchObject({ code: 'E_DIRECTORY_PROOF' });
      }
    }
  });
  it('treats misuse as TypeError/RangeError, not as a proof failure', async () => {
    const h = new Uint8Array(32);
    await expect(verifyInclusion(-1, 2, h, [], h)).rejects.toBeInstanceOf(RangeError);
    await expect(verifyInclusion(0.5, 2, h, [], h)).rejects.toBeInstanceOf(RangeError);
    await expect(verifyInclusion(0, 1n << 64n, h, [], h)).rejects.toBeInstanceOf(RangeError);
    await expect(verifyInclusion(0, 1, 'x' as unknown as Uint8Array, [], h)).rejects.toBeInstanceOf(TypeError);
    await expect(verifyConsistency(1, 2, [null as unknown as Uint8Array], h, h)).rejects.toBeInstanceOf(TypeError);
  });
});
