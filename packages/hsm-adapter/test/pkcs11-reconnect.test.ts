// What happens to Pkcs11KeyBackend when the token goes away and comes back, when a mechanism
// is missing, and when a second process opens the same token. This file finalizes and
// re-initializes the module on purpose, so it runs in its own process (vitest pool: forks).
import { execFile } from 'node:child_process';
import { readdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { verify as nodeVerify, createECDH } from 'node:crypto';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkcs11js from 'pkcs11js';
import type { KeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { REINITIALIZE_WAIT_MS } from '../src/internal/reconnect.js';
import { spkiFromRaw } from './support/spki.js';
import { createSoftHsmTestToken, type SoftHsmTestToken } from './support/softhsm.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const text = (s: string) => new TextEncoder().encode(s);
const isCode = (code: SigilError['code']) => (e: unknown) => SigilError.is(e, code);

let token: SoftHsmTestToken;
let keys: Pkcs11KeyBackend;

beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-reconnect' });
  keys = await Pkcs11KeyBackend.open(token.location);
});
afterAll(async () => {
  await keys?.close();
  await token?.remove();
});

/** Another user of the same module in this process (the module is process-wide state). */
function otherUser(): InstanceType<typeof pkcs11js.PKCS11> {
  const lib = new pkcs11js.PKCS11();
  lib.load(token.module);
  return lib;
}

function slotOf(lib: InstanceType<typeof pkcs11js.PKCS11>): Buffer {
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.label);
  if (slot === undefined) throw new Error('token not found');
  return slot;
}

async function signsAndVerifies(backend: Pkcs11KeyBackend, label: string): Promise<void> {
  const ref = (await backend.listKeys({ label }))[0] ?? (await backend.generateKeyPair({ usage: 'sign', label }));
  const sig = await backend.sign(ref, text(label));
  expect(nodeVerify('sha256', text(label), { key: spkiFromRaw(ref.publicKey), dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
}

describe('reconnect', () => {
  it('reconnects after its sessions were closed under it (C_CloseAllSessions)', async () => {
    await signsAndVerifies(keys, 'rc-sessions');
    const lib = otherUser();
    lib.C_CloseAllSessions(slotOf(lib));
    await signsAndVerifies(keys, 'rc-sessions');
  });

  it('reconnects after the module was finalized, for many callers at once', async () => {
    const signer = await keys.generateKeyPair({ usage: 'sign', label: 'rc-final-s' });
    const agreer = await keys.generateKeyPair({ usage: 'agree', label: 'rc-final-a' });
    otherUser().C_Finalize();
    const pub = spkiFromRaw(signer.publicKey);
    const results = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        if (i % 2 === 0) {
          const sig = await keys.sign(signer, new Uint8Array([i]));
          return nodeVerify('sha256', new Uint8Array([i]), { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
        }
        const peer = createECDH('prime256v1');
        const s = await keys.deriveSharedSecret(agreer, new Uint8Array(peer.generateKeys()));
        return Buffer.from(s).equals(peer.computeSecret(Buffer.from(agreer.publicKey)));
      }),
    );
    expect(results).toEqual(Array(16).fill(true));
  });

  it('reports E_HSM_UNAVAILABLE while the token is gone, and reconnects once it is back', async () => {
    const ref = await keys.generateKeyPair({ usage: 'sign', label: 'rc-gone' });
    // The token "goes away": the module is finalized and comes back configured with an empty
    // token directory, so the token's label is nowhere.
    const emptyConf = join(token.dir, 'empty.conf');
    await writeFile(emptyConf, `directories.tokendir = ${join(token.dir, 'no-tokens')}\n`);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(token.dir, 'no-tokens'), { recursive: true });
    process.env['SOFTHSM2_CONF'] = emptyConf;
    otherUser().C_Finalize();
    const e = await keys.sign(ref, text('gone')).catch((x: unknown) => x);
    expect(SigilError.is(e, 'E_HSM_UNAVAILABLE')).toBe(true);
    expect((e as SigilError).detail).toBe('token-not-found');
    await expect(keys.listKeys()).rejects.toSatisfy(isCode('E_HSM_UNAVAILABLE'));
    // It comes back.
    process.env['SOFTHSM2_CONF'] = token.conf;
    otherUser().C_Finalize();
    const sig = await keys.sign(ref, text('back'));
    expect(nodeVerify('sha256', text('back'), { key: spkiFromRaw(ref.publicKey), dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
  });
});

describe('mechanisms', () => {
  it('E_HSM_MECHANISM when the token lacks CKM_ECDH1_DERIVE or the AES mechanisms', async () => {
    const agreer = await keys.generateKeyPair({ usage: 'agree', label: 'mech-a' });
    const signer = await keys.generateKeyPair({ usage: 'sign', label: 'mech-s' });
    // SoftHSM's slots.mechanisms allow-list (softhsm2.conf(5)): only EC key generation and ECDSA.
    const limited = join(token.dir, 'limited.conf');
    await writeFile(limited, `directories.tokendir = ${join(token.dir, 'tokens')}\nslots.mechanisms = CKM_EC_KEY_PAIR_GEN,CKM_ECDSA\n`);
    process.env['SOFTHSM2_CONF'] = limited;
    otherUser().C_Finalize();
    try {
      const peer = createECDH('prime256v1');
      const e = await keys.deriveSharedSecret(agreer, new Uint8Array(peer.generateKeys())).catch((x: unknown) => x);
      expect(SigilError.is(e, 'E_HSM_MECHANISM')).toBe(true);
      expect((e as SigilError).detail).toBe('CKM_ECDH1_DERIVE');
      await expect(keys.generateWrappingKey({ label: 'no-aes' })).rejects.toSatisfy(isCode('E_HSM_MECHANISM'));
      await signsAndVerifies(keys, 'mech-s'); // what the token has still works
      expect(signer.usage).toBe('sign');
    } finally {
      process.env['SOFTHSM2_CONF'] = token.conf;
      otherUser().C_Finalize();
    }
    const peer = createECDH('prime256v1');
    expect((await keys.deriveSharedSecret(agreer, new Uint8Array(peer.generateKeys()))).length).toBe(32);
  });
});

describe('token directory moved away and back (issue 13.6)', () => {
  // The outage as an operator makes it: the token's files disappear under a live, logged-in
  // backend, nobody finalizes the module, and they come back. SoftHSM then fails a cached key
  // handle with CKR_OBJECT_HANDLE_INVALID and finds no objects, which used to come out as
  // E_KEY_NOT_FOUND (and getKey as undefined); and it keeps failing after the files are back,
  // until the module is initialised again.
  const tokens = () => join(token.dir, 'tokens');
  async function moveAway(what: 'the token' | 'the token directory'): Promise<() => Promise<void>> {
    if (what === 'the token directory') {
      const away = join(token.dir, 'tokens-away');
      await rename(tokens(), away);
      return () => rename(away, tokens());
    }
    const [uuid] = (await readdir(tokens())).filter((name) => !name.startsWith('.'));
    if (uuid === undefined) throw new Error('no token directory');
    const away = join(token.dir, `away-${uuid}`);
    await rename(join(tokens(), uuid), away);
    return () => rename(away, join(tokens(), uuid));
  }
  const signs = async (backend: Pkcs11KeyBackend, ref: KeyRef, message: string): Promise<boolean> =>
    nodeVerify('sha256', text(message), { key: spkiFromRaw(ref.publicKey), dsaEncoding: 'ieee-p1363' }, await backend.sign(ref, text(message)));

  it.each(['the token', 'the token directory'] as const)('%s moved away: E_HSM_UNAVAILABLE, not E_KEY_NOT_FOUND; moved back: the same backend works again', async (what) => {
    const signer = await keys.generateKeyPair({ usage: 'sign', label: 'rc-moved' });
    const wrapping = await keys.generateWrappingKey({ label: 'rc-moved-w' });
    const wrapped = await keys.wrap(wrapping, text('kept'));
    expect(await signs(keys, signer, 'before')).toBe(true);
    const restore = await moveAway(what);
    let restored = false;
    try {
      const started = performance.now();
      const e = await keys.sign(signer, text('gone')).catch((x: unknown) => x);
      expect(SigilError.is(e) ? e.code : e).toBe('E_HSM_UNAVAILABLE');
      // Asked again while still gone, every verb says the same, and none answers "no such key".
      await expect(keys.getKey(signer.id)).rejects.toSatisfy(isCode('E_HSM_UNAVAILABLE'));
      await expect(keys.listKeys({ label: 'rc-moved' })).rejects.toSatisfy(isCode('E_HSM_UNAVAILABLE'));
      await expect(keys.unwrap(wrapping, wrapped)).rejects.toSatisfy(isCode('E_HSM_UNAVAILABLE'));
      // Many callers at once (some of them on worker threads): each gets the typed error, none waits for the token.
      const many = await Promise.all(Array.from({ length: 8 }, (_, i) => keys.sign(signer, new Uint8Array([i])).catch((x: unknown) => x)));
      expect(many.map((x) => (SigilError.is(x) ? x.code : x))).toEqual(Array(8).fill('E_HSM_UNAVAILABLE'));
      expect(performance.now() - started).toBeLessThan(REINITIALIZE_WAIT_MS);
      await restore();
      restored = true;
      // Back: the same object, no close()/open().
      expect(await signs(keys, signer, 'back')).toBe(true);
      expect((await keys.getKey(signer.id))?.id).toBe(signer.id);
      expect(new TextDecoder().decode(await keys.unwrap(wrapping, wrapped))).toBe('kept');
      const again = await Promise.all(Array.from({ length: 8 }, (_, i) => signs(keys, signer, `again ${i}`)));
      expect(again).toEqual(Array(8).fill(true));
    } finally {
      if (!restored) await restore();
    }
  });
  it('with token workers, and beside another backend on the same module: both work again once the token is back', async () => {
    const withWorkers = await Pkcs11KeyBackend.open({ ...token.location, execution: 'workers', workers: 1 });
    try {
      const signer = await withWorkers.generateKeyPair({ usage: 'sign', label: 'rc-moved-workers' });
      const agreer = await keys.generateKeyPair({ usage: 'agree', label: 'rc-moved-other' });
      expect(await Promise.all([1, 2, 3, 4].map((i) => signs(withWorkers, signer, `before ${i}`)))).toEqual([true, true, true, true]);
      const restore = await moveAway('the token');
      let restored = false;
      try {
        const during = await Promise.all([1, 2, 3, 4].map((i) => withWorkers.sign(signer, new Uint8Array([i])).catch((x: unknown) => x)));
        expect(during.map((x) => (SigilError.is(x) ? x.code : x))).toEqual(Array(4).fill('E_HSM_UNAVAILABLE'));
        await restore();
        restored = true;
      } finally {
        if (!restored) await restore();
      }
      // Calls on the worker threads too (four at once), after the module was re-initialised under them.
      expect(await Promise.all([1, 2, 3, 4].map((i) => signs(withWorkers, signer, `after ${i}`)))).toEqual([true, true, true, true]);
      // The other backend on the module saw its sessions closed by that re-initialisation, and reconnects.
      const peer = createECDH('prime256v1');
      const secret = await keys.deriveSharedSecret(agreer, new Uint8Array(peer.generateKeys()));
      expect(Buffer.from(secret).equals(peer.computeSecret(Buffer.from(agreer.publicKey)))).toBe(true);
    } finally {
      await withWorkers.close();
    }
  });
});

describe('restart', () => {
  it('a second process finds a key by id and by label and signs with it', async () => {
    const label = `restart-${process.pid}`;
    const ref = await keys.generateKeyPair({ usage: 'sign', label });
    // The child is this package's TypeScript source, bundled by esbuild (pkcs11js stays an
    // external native module), so the test does not depend on a stale dist/.
    const child = `
      import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { REINITIALIZE_WAIT_MS } from '../src/internal/reconnect.js';
      async function main() {
        const [module, tokenLabel, pin, id, label] = process.argv.slice(2);
        const keys = await Pkcs11KeyBackend.open({ module, token: tokenLabel, pin });
        const byId = await keys.getKey(id);
        const byLabel = await keys.listKeys({ label });
        const signature = byId ? Buffer.from(await keys.sign(byId, new TextEncoder().encode('from the child'))).toString('hex') : null;
        // Concurrent calls in a single-file bundle: no worker script beside it, so they run on this thread.
        const more = byId ? await Promise.all([1, 2, 3, 4].map((i) => keys.sign(byId, new Uint8Array([i])))) : [];
        await keys.close();
        process.stdout.write(JSON.stringify({ found: byId?.id ?? null, byLabel: byLabel.map((r) => r.id), signature, more: more.map((s) => Buffer.from(s).toString('hex')) }));
      }
      main().catch((e) => { process.stderr.write(String(e && e.stack)); process.exit(1); });
    `;
    const src = (p: string) => join(repoRoot, p);
    const bundle = join(token.dir, 'child.cjs');
    await build({
      stdin: { contents: child, resolveDir: repoRoot, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: bundle,
      external: ['pkcs11js'],
      logLevel: 'silent',
      plugins: [
        {
          name: 'sigil-src',
          setup(b) {
            const map: Record<string, string> = {
              '@sigil/sdk': src('packages/sdk/src/index.ts'),
              '@sigil/sdk/errors': src('packages/sdk/src/errors.ts'),
              '@sigil/sdk/backend': src('packages/sdk/src/backend/index.ts'),
              '@sigil/hsm-adapter': src('packages/hsm-adapter/src/index.ts'),
            };
            b.onResolve({ filter: /^@sigil\// }, (args) => (map[args.path] ? { path: map[args.path]! } : undefined));
          },
        },
      ],
    });
    const { stdout } = await promisify(execFile)(process.execPath, [bundle, token.module, token.label, token.pin, ref.id, label], {
      env: { ...process.env, ...token.env, NODE_PATH: join(repoRoot, 'node_modules') },
    });
    const out = JSON.parse(stdout) as { found: string; byLabel: string[]; signature: string; more: string[] };
    expect(out.found).toBe(ref.id);
    expect(out.byLabel).toEqual([ref.id]);
    const ok = nodeVerify('sha256', text('from the child'), { key: spkiFromRaw(ref.publicKey), dsaEncoding: 'ieee-p1363' }, Buffer.from(out.signature, 'hex'));
    expect(ok).toBe(true);
    expect(out.more.map((sig, i) => nodeVerify('sha256', new Uint8Array([i + 1]), { key: spkiFromRaw(ref.publicKey), dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'hex')))).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });
});
