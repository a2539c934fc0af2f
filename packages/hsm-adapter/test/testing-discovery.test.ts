// SoftHSM module discovery (@sigil/hsm-adapter/testing): the search order over the known
// paths, the environment override, and the error when nothing is found. Real files in a temp
// directory stand for each distribution's layout.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk/errors';
import { findSoftHsmModule, SOFTHSM_MODULE_CANDIDATES, type SoftHsmModuleCandidate } from '@sigil/hsm-adapter/testing';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sigil-discovery-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The candidates moved under a fresh directory, with fake module files at the given ones. */
async function layout(name: string, present: readonly string[]): Promise<readonly SoftHsmModuleCandidate[]> {
  const base = join(root, name);
  for (const path of present) {
    await mkdir(dirname(join(base, path)), { recursive: true });
    await writeFile(join(base, path), 'not really a module');
  }
  return SOFTHSM_MODULE_CANDIDATES.map((c) => ({ ...c, path: join(base, c.path) }));
}

const codeOf = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return SigilError.is(e) ? [e.code, e.detail] : e;
  }
  return undefined;
};

describe('findSoftHsmModule', () => {
  it('knows the paths of Debian/Ubuntu (multiarch first), Fedora, Alpine and Homebrew, in that order', () => {
    expect(SOFTHSM_MODULE_CANDIDATES.map((c) => c.path)).toEqual([
      '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
      '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
      '/usr/lib/softhsm/libsofthsm2.so',
      '/usr/lib64/pkcs11/libsofthsm2.so',
      '/usr/lib64/softhsm/libsofthsm2.so',
      '/opt/homebrew/lib/softhsm/libsofthsm2.so',
      '/usr/local/lib/softhsm/libsofthsm2.so',
    ]);
  });

  it.each([
    ['debian', ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'], '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'],
    ['alpine', ['/usr/lib/softhsm/libsofthsm2.so'], '/usr/lib/softhsm/libsofthsm2.so'],
    ['fedora', ['/usr/lib64/softhsm/libsofthsm2.so', '/usr/lib64/pkcs11/libsofthsm2.so'], '/usr/lib64/pkcs11/libsofthsm2.so'],
    ['fedora-old', ['/usr/lib64/softhsm/libsofthsm2.so'], '/usr/lib64/softhsm/libsofthsm2.so'],
    ['brew-arm', ['/opt/homebrew/lib/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'], '/opt/homebrew/lib/softhsm/libsofthsm2.so'],
    ['brew-intel', ['/usr/local/lib/softhsm/libsofthsm2.so'], '/usr/local/lib/softhsm/libsofthsm2.so'],
  ] as const)('%s: the first existing candidate', async (name, present, expected) => {
    const candidates = await layout(name, present);
    expect(findSoftHsmModule({ env: {}, candidates })).toBe(join(root, name, expected));
  });

  it('SOFTHSM2_MODULE, then SIGIL_PKCS11_MODULE, win over the candidates; an empty one is unset', async () => {
    const candidates = await layout('env', ['/usr/lib/softhsm/libsofthsm2.so', '/custom/a.so', '/custom/b.so']);
    const a = join(root, 'env/custom/a.so');
    const b = join(root, 'env/custom/b.so');
    expect(findSoftHsmModule({ env: { SOFTHSM2_MODULE: a, SIGIL_PKCS11_MODULE: b }, candidates })).toBe(a);
    expect(findSoftHsmModule({ env: { SIGIL_PKCS11_MODULE: b }, candidates })).toBe(b);
    expect(findSoftHsmModule({ env: { SOFTHSM2_MODULE: '', SIGIL_PKCS11_MODULE: b }, candidates })).toBe(b);
  });

  it('an override that names a missing file is the error, not a reason to look elsewhere', async () => {
    const candidates = await layout('env-missing', ['/usr/lib/softhsm/libsofthsm2.so']);
    const missing = join(root, 'env-missing/nope.so');
    expect(codeOf(() => findSoftHsmModule({ env: { SOFTHSM2_MODULE: missing }, candidates }))).toEqual(['E_HSM_UNAVAILABLE', 'module-not-found']);
  });

  it('none found: E_HSM_UNAVAILABLE naming every path tried, and how to install SoftHSM', async () => {
    const candidates = await layout('none', []);
    let error: unknown;
    try {
      findSoftHsmModule({ env: {}, candidates });
    } catch (e) {
      error = e;
    }
    expect(SigilError.is(error, 'E_HSM_UNAVAILABLE')).toBe(true);
    expect((error as SigilError).detail).toBe('module-not-found');
    // The message is for a person reading a CI log: every path, and the install commands.
    for (const c of candidates) expect((error as SigilError).message).toContain(c.path);
    for (const install of ['apt-get install softhsm2', 'dnf install softhsm', 'apk add softhsm', 'brew install softhsm', 'SOFTHSM2_MODULE']) {
      expect((error as SigilError).message).toContain(install);
    }
  });

  it('asks only `exists`, in order, and stops at the first hit', () => {
    const asked: string[] = [];
    const exists = (p: string) => (asked.push(p), p === '/usr/lib64/pkcs11/libsofthsm2.so');
    expect(findSoftHsmModule({ env: {}, exists })).toBe('/usr/lib64/pkcs11/libsofthsm2.so');
    expect(asked).toEqual(SOFTHSM_MODULE_CANDIDATES.slice(0, 4).map((c) => c.path));
  });

  it('on this machine, finds the installed module', () => {
    const found = findSoftHsmModule({ env: {} });
    expect(existsSync(found)).toBe(true);
  });
});
