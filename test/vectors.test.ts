// The vendored vectors are the ones SOURCES.md describes: every file listed in SHA256SUMS is
// there with that hash, and nothing unlisted sits beside them (a file dropped, edited or added
// without its provenance fails here, before a vector test silently runs fewer cases).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { vectorsRoot } from './support/vectors.js';

const OWN = new Set(['SHA256SUMS', 'SOURCES.md']);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [relative(vectorsRoot, join(dir, e.name))],
  );
}

const listed = new Map(
  readFileSync(join(vectorsRoot, 'SHA256SUMS'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^([0-9a-f]{64}) {2}\.\/(.+)$/.exec(line);
      if (m === null) throw new Error(`SHA256SUMS: malformed line ${JSON.stringify(line)}`);
      return [m[2]!, m[1]!] as const;
    }),
);

describe('vendored vectors (test/vectors)', () => {
  it('lists every file it holds, and only those', () => {
    const present = filesUnder(vectorsRoot).filter((f) => !OWN.has(f)).sort();
    expect(present).toEqual([...listed.keys()].sort());
    expect(present.length).toBe(213);
  });

  it('holds each file with the SHA-256 that SHA256SUMS pins', () => {
    for (const [file, sum] of listed) {
      expect(createHash('sha256').update(readFileSync(join(vectorsRoot, file))).digest('hex'), file).toBe(sum);
    }
  });

  it('keeps a licence beside each suite', () => {
    for (const licence of ['wycheproof/LICENSE', 'transparency-dev-merkle/LICENSE', 'webauthn/LICENSE-SimpleWebAuthn.md', 'webauthn/LICENSE-w3c-webauthn.md', 'hpke/debian-circl-copyright.txt']) {
      expect(listed.has(licence), licence).toBe(true);
    }
  });
});
