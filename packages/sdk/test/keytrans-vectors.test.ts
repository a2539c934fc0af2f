// The KEYTRANS and ECVRF vectors are data the tests trust: each file in
// packages/sdk/test/vectors/keytrans is pinned by SHA256SUMS (origins in SOURCES.md), so a
// vector changed, lost or added without a source fails here rather than passing quietly.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('./vectors/keytrans/', import.meta.url));
const UNPINNED = new Set(['SHA256SUMS', 'SOURCES.md']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [relative(root, path)];
  });
}

describe('vectors/keytrans/SHA256SUMS', () => {
  const sums = new Map(
    readFileSync(join(root, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [sum, path] = line.split(/ +/) as [string, string];
        return [path.replace(/^\.\//, ''), sum];
      }),
  );

  it('lists every vector file, and only those', () => {
    expect([...sums.keys()].sort()).toEqual(files(root).filter((f) => !UNPINNED.has(f)).sort());
  });

  for (const [path, sum] of sums) {
    it(`${path} is unchanged`, () => {
      expect(createHash('sha256').update(readFileSync(join(root, path))).digest('hex')).toBe(sum);
    });
  }
});
