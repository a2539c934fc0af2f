// The entry points by audience (issue 11 item 3): the root holds what an app developer uses and
// nothing else; the register/sign-in overlap is gone from every entry; no production entry point
// carries the test suite; and no module of the sdk imports, directly or not, a module that
// imports it back (the old sigil.ts <-> browser/ cycle).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as root from '@sigil/sdk';
import * as backend from '@sigil/sdk/backend';
import * as browser from '@sigil/sdk/browser';
import * as directory from '@sigil/sdk/directory';
import * as identity from '@sigil/sdk/identity';
import * as transparency from '@sigil/sdk/transparency';
import * as testing from '@sigil/sdk/testing';

const src = join(dirname(fileURLToPath(import.meta.url)), '../src');

describe('entry points', () => {
  it('the root exports exactly the app developer names (values; types are checked by tsc)', () => {
    expect(Object.keys(root).sort()).toEqual(
      ['DirectoryClient', 'ENVELOPE_LIMITS', 'Sigil', 'SigilError', 'WebCryptoKeyBackend', 'decrypt', 'decryptStream', 'encrypt', 'encryptStream', 'proveDevicePossession'].sort(),
    );
  });

  it('has one register and one sign-in path in the public API', () => {
    const everything = new Set([root, backend, browser, directory, identity, transparency].flatMap((m) => Object.keys(m)));
    for (const overlap of ['registerBrowserAccount', 'signInBrowserAccount', 'enrolBrowserDevice', 'registerWebAuthnCredential', 'signInWithWebAuthn']) {
      expect(everything.has(overlap), overlap).toBe(false);
    }
    expect(typeof browser.registerWithPasskey).toBe('function');
    expect(typeof browser.signInWithPasskey).toBe('function');
    expect('register' in root.Sigil || 'signIn' in root.Sigil).toBe(false);
  });

  it('keeps the conformance suite out of every production entry point', () => {
    expect(typeof testing.describeKeyBackendConformance).toBe('function');
    for (const m of [root, backend, browser, directory, identity, transparency]) expect('describeKeyBackendConformance' in m).toBe(false);
  });

  it('keeps the names /backend promises to implementers', () => {
    for (const name of ['checkGenerateOptions', 'keyIdOf', 'checkP256PublicKey', 'supportsKeyWrapping', 'WebCryptoKeyBackend']) {
      expect(typeof (backend as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});

/** Relative imports of every module under src (type-only ones too: a cycle of types is still a cycle of design). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8');
        const deps = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => normalize(join(dirname(path), m[1]!.replace(/\.js$/, '.ts'))));
        graph.set(path, deps);
      }
    }
  };
  walk(src);
  return graph;
}

describe('module graph of the sdk', () => {
  it('has no import cycle', () => {
    const graph = importGraph();
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]): void => {
      state.set(node, 'open');
      for (const next of graph.get(node) ?? []) {
        if (!graph.has(next)) continue;
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].map((p) => relative(src, p)).join(' -> '));
        else if (state.get(next) === undefined) visit(next, [...path, next]);
      }
      state.set(node, 'done');
    };
    for (const node of graph.keys()) if (state.get(node) === undefined) visit(node, [node]);
    expect(cycles).toEqual([]);
    expect(graph.size).toBeGreaterThan(40);
  });

  it('account/ imports neither sigil.ts nor browser/ (the browser layer may import it, never the reverse)', () => {
    for (const [file, deps] of importGraph()) {
      if (!relative(src, file).startsWith('account/')) continue;
      for (const d of deps) expect(relative(src, d), `${relative(src, file)} imports ${relative(src, d)}`).not.toMatch(/^(sigil\.ts|browser\/)/);
    }
  });
});
