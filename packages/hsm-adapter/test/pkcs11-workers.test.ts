// Pkcs11KeyBackend with `execution: 'workers'`: the shared conformance suite, concurrent calls
// (which go to the token workers in batches), the checks that must still happen on the calling
// thread (usage, policy, keys deleted elsewhere), close(), and the token going away and coming
// back; and the default `'auto'`, which starts the workers at the first concurrent calls. The reconnect cases finalize the module, so they come last; this file runs in its own
// process (vitest pool: forks). Workers run token-worker.ts from the sources, through tsx.
import { createECDH, verify as nodeVerify } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkcs11js from 'pkcs11js';
import type { KeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { describeKeyBackendConformance } from '@sigil/sdk/testing';
import { spkiFromRaw } from './support/spki.js';
import { assertUnexportableOnToken, assertWrappingKeyUnexportableOnToken, createSoftHsmTestToken, findByCkaId, importTestKeyToToken, withTokenSession, type SoftHsmTestToken } from './support/softhsm.js';

let token: SoftHsmTestToken;

beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-workers-test' });
});
afterAll(async () => {
  await token?.remove();
});

const open = (extra: Partial<Parameters<typeof Pkcs11KeyBackend.open>[0]> = {}) =>
  Pkcs11KeyBackend.open({ ...token.location, execution: 'workers', ...extra });

const isCode = (code: SigilError['code']) => (e: unknown) => SigilError.is(e, code);
const text = (s: string) => new TextEncoder().encode(s);
const verifies = (ref: KeyRef, data: Uint8Array, sig: Uint8Array) =>
  nodeVerify('sha256', data, { key: spkiFromRaw(ref.publicKey), dsaEncoding: 'ieee-p1363' }, sig);

function peer() {
  const e = createECDH('prime256v1');
  e.generateKeys();
  return { publicKey: new Uint8Array(e.getPublicKey()), secretWith: (ref: KeyRef) => e.computeSecret(Buffer.from(ref.publicKey)) };
}

/** Threads of this process (Linux). SoftHSM reports no session count (CK_UNAVAILABLE_INFORMATION). */
const threads = () => readdirSync('/proc/self/task').length;

describeKeyBackendConformance('Pkcs11KeyBackend (SoftHSM, execution: workers)', async () => {
  const backend = await open();
  return {
    backend,
    close: () => backend.close(),
    assertPrivateKeyUnexportable: async (ref: KeyRef) => assertUnexportableOnToken(token, ref.id),
    assertWrappingKeyUnexportable: async (ref: { readonly id: string }) => assertWrappingKeyUnexportableOnToken(token, ref.id),
  };
});

describe("execution: 'workers'", () => {
  let keys: Pkcs11KeyBackend;
  let signer: KeyRef;
  let agreer: KeyRef;
  beforeAll(async () => {
    keys = await open();
    signer = await keys.generateKeyPair({ usage: 'sign', label: 'w-sign' });
    agreer = await keys.generateKeyPair({ usage: 'agree', label: 'w-agree' });
  });
  afterAll(async () => {
    await keys?.close();
  });

  it('starts its worker threads at open, and close() ends them', async () => {
    const before = threads();
    const b = await open({ workers: 3 });
    expect(threads()).toBeGreaterThanOrEqual(before + 3);
    await b.close();
    expect(threads()).toBe(before);
  });

  it('signs and derives correctly with many calls in flight (batches in the workers)', async () => {
    const peers = Array.from({ length: 24 }, peer);
    const results = await Promise.all(
      peers.flatMap((p, i) => [
        keys.sign(signer, new Uint8Array([i, 1])).then((sig) => sig.length === 64 && verifies(signer, new Uint8Array([i, 1]), sig)),
        keys.deriveSharedSecret(agreer, p.publicKey).then((s) => s.length === 32 && Buffer.from(s).equals(p.secretWith(agreer))),
      ]),
    );
    expect(results).toEqual(Array(48).fill(true));
  });

  it('runs a lone call on the calling thread and still answers correctly', async () => {
    const sig = await keys.sign(signer, text('alone'));
    expect(verifies(signer, text('alone'), sig)).toBe(true);
    const p = peer();
    expect(Buffer.from(await keys.deriveSharedSecret(agreer, p.publicKey)).equals(p.secretWith(agreer))).toBe(true);
  });

  it('works with more callers than sessions, and with one worker', async () => {
    const b = await open({ sessions: 2, workers: 1 });
    try {
      const sigs = await Promise.all(Array.from({ length: 20 }, (_, i) => b.sign(signer, new Uint8Array([i]))));
      expect(sigs.every((s, i) => verifies(signer, new Uint8Array([i]), s))).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('derives for every caller with one worker (derive batches are split unevenly), each its own secret', async () => {
    const b = await open({ workers: 1 });
    try {
      for (const callers of [2, 3, 4, 5, 9]) {
        const peers = Array.from({ length: callers }, peer);
        const secrets = await Promise.all(peers.map((p) => b.deriveSharedSecret(agreer, p.publicKey)));
        expect(secrets.map((s, i) => Buffer.from(s).equals(peers[i]!.secretWith(agreer)))).toEqual(Array(callers).fill(true));
      }
    } finally {
      await b.close();
    }
  });

  it('answers every call of a burst that is not followed by more calls, with two and three workers', async () => {
    // A burst's calls must all settle without later calls to flush them: with k workers and
    // n calls, a share rounded down for every worker and up for this thread once left a call
    // waiting for a reply that no batch would send (2 workers, 2 callers).
    for (const workers of [2, 3]) {
      const b = await open({ workers });
      try {
        for (const callers of [1, 2, 3, 4, 5, 6, 7, 9, 13]) {
          const peers = Array.from({ length: callers }, peer);
          const results = await Promise.all(
            peers.map(async (p, i) =>
              i % 2 === 0
                ? verifies(signer, new Uint8Array([callers, i]), await b.sign(signer, new Uint8Array([callers, i])))
                : Buffer.from(await b.deriveSharedSecret(agreer, p.publicKey)).equals(p.secretWith(agreer)),
            ),
          );
          expect(results).toEqual(Array(callers).fill(true));
        }
      } finally {
        await b.close();
      }
    }
  });

  it('checks usage and policy on the calling thread, per call, inside a batch', async () => {
    const e = createECDH('prime256v1');
    e.generateKeys();
    const weak = await importTestKeyToToken(token, { privateKey: new Uint8Array(e.getPrivateKey()), usage: 'sign', label: 'w-weak', extractable: true });
    const weakRef = (await keys.getKey(weak.id))!;
    const ghost: KeyRef = { ...signer, id: 'cd'.repeat(16) };
    const p = peer();
    const settled = await Promise.allSettled([
      keys.sign(signer, text('ok')),
      keys.sign(agreer, text('wrong purpose')),
      keys.deriveSharedSecret(signer, p.publicKey),
      keys.sign(weakRef, text('weak')),
      keys.sign(ghost, text('ghost')),
      keys.deriveSharedSecret(agreer, p.publicKey),
    ]);
    const codes = settled.map((r) => (r.status === 'fulfilled' ? 'ok' : SigilError.is(r.reason) ? r.reason.code : String(r.reason)));
    expect(codes).toEqual(['ok', 'E_KEY_USAGE', 'E_KEY_USAGE', 'E_KEY_POLICY', 'E_KEY_NOT_FOUND', 'ok']);
    await keys.deleteKey(weakRef);
  });

  it('reports E_KEY_NOT_FOUND for a key deleted behind its back while its handle is cached', async () => {
    const ref = await keys.generateKeyPair({ usage: 'sign', label: 'w-deleted-elsewhere' });
    await Promise.all([keys.sign(ref, text('a')), keys.sign(ref, text('b'))]);
    withTokenSession(token, (lib, session) => {
      lib.C_DestroyObject(session, findByCkaId(lib, session, pkcs11js.CKO_PRIVATE_KEY, ref.id));
    });
    const settled = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => keys.sign(ref, new Uint8Array([i]))));
    for (const r of settled) expect(r.status === 'rejected' && SigilError.is(r.reason, 'E_KEY_NOT_FOUND')).toBe(true);
  });

  it('settles every call when closed under load, then refuses calls with E_BACKEND_CLOSED', async () => {
    const b = await open({ sessions: 2 });
    const calls = Promise.allSettled(Array.from({ length: 12 }, (_, i) => b.sign(signer, new Uint8Array([i]))));
    await b.close();
    for (const r of await calls) {
      if (r.status === 'rejected') expect(SigilError.is(r.reason, 'E_BACKEND_CLOSED')).toBe(true);
      else expect(r.value.length).toBe(64);
    }
    await expect(b.sign(signer, text('x'))).rejects.toSatisfy(isCode('E_BACKEND_CLOSED'));
    await expect(Promise.all([b.sign(signer, text('x')), b.sign(signer, text('y'))])).rejects.toSatisfy(isCode('E_BACKEND_CLOSED'));
  });

  it('rejects bad options with TypeError/RangeError', async () => {
    await expect(open({ execution: 'fibers' as never })).rejects.toBeInstanceOf(TypeError);
    await expect(open({ workers: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(open({ workers: 1.5 })).rejects.toBeInstanceOf(RangeError);
  });

  it('refuses a wrong PIN before starting any worker (E_HSM_PIN)', async () => {
    const before = threads();
    await expect(open({ pin: 'not-the-pin' })).rejects.toSatisfy(isCode('E_HSM_PIN'));
    expect(threads()).toBe(before);
  });
});

describe("execution: 'auto' (the default): workers start at the first concurrent calls", () => {
  let keys: Pkcs11KeyBackend;
  let signer: KeyRef;
  let agreer: KeyRef;
  beforeAll(async () => {
    keys = await open();
    signer = await keys.generateKeyPair({ usage: 'sign', label: 'a-sign' });
    agreer = await keys.generateKeyPair({ usage: 'agree', label: 'a-agree' });
  });
  afterAll(async () => {
    await keys?.close();
  });

  const openDefault = (extra: Partial<Parameters<typeof Pkcs11KeyBackend.open>[0]> = {}) =>
    Pkcs11KeyBackend.open({ ...token.location, ...extra });

  /** Two signs and two derives at once, each checked. */
  async function concurrent(b: Pkcs11KeyBackend, i: number): Promise<boolean[]> {
    const peers = [peer(), peer()];
    return Promise.all([
      ...[0, 1].map(async (j) => verifies(signer, new Uint8Array([i, j]), await b.sign(signer, new Uint8Array([i, j])))),
      ...peers.map(async (p) => Buffer.from(await b.deriveSharedSecret(agreer, p.publicKey)).equals(p.secretWith(agreer))),
    ]);
  }

  it('starts no worker for a lone caller, starts them at the first concurrent calls, answers every call, and close() ends them', async () => {
    const before = threads();
    const b = await openDefault({ workers: 2 });
    for (let i = 0; i < 50; i++) {
      expect(verifies(signer, new Uint8Array([i]), await b.sign(signer, new Uint8Array([i])))).toBe(true);
      const p = peer();
      expect(Buffer.from(await b.deriveSharedSecret(agreer, p.publicKey)).equals(p.secretWith(agreer))).toBe(true);
    }
    expect(threads()).toBe(before);
    expect(await concurrent(b, 0)).toEqual([true, true, true, true]);
    expect(threads()).toBeGreaterThanOrEqual(before + 2);
    // The workers come up in the background; calls are answered all along (on this thread
    // until then), and in batches shared with the workers afterwards.
    for (let i = 1; i < 200; i++) {
      expect(await concurrent(b, i)).toEqual([true, true, true, true]);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await b.close();
    expect(threads()).toBe(before);
  });

  it('settles every call when closed while its workers are starting, and ends them', async () => {
    const before = threads();
    const b = await openDefault({ workers: 2 });
    expect(await concurrent(b, 0)).toEqual([true, true, true, true]);
    await b.close();
    expect(threads()).toBe(before);
    await expect(Promise.all([b.sign(signer, text('x')), b.sign(signer, text('y'))])).rejects.toSatisfy(isCode('E_BACKEND_CLOSED'));
  });

  it("defaults to 'thread' with asyncCalls: no worker even for concurrent calls", async () => {
    const b = await openDefault({ asyncCalls: true });
    try {
      await concurrent(b, 0); // the first use of libuv's thread pool in this process may start it
      const before = threads();
      for (let i = 1; i < 20; i++) expect(await concurrent(b, i)).toEqual([true, true, true, true]);
      expect(threads()).toBe(before);
    } finally {
      await b.close();
    }
  });

  it("refuses an unknown execution with TypeError", async () => {
    await expect(openDefault({ execution: 'fibers' as never })).rejects.toBeInstanceOf(TypeError);
  });
});

describe("execution: 'workers' when the token goes away (finalizes the module)", () => {
  let keys: Pkcs11KeyBackend;
  beforeAll(async () => {
    keys = await open();
  });
  afterAll(async () => {
    await keys?.close();
  });

  const otherUser = () => {
    const lib = new pkcs11js.PKCS11();
    lib.load(token.module);
    return lib;
  };

  async function mixed(signer: KeyRef, agreer: KeyRef, n: number): Promise<boolean[]> {
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        if (i % 2 === 0) return verifies(signer, new Uint8Array([i]), await keys.sign(signer, new Uint8Array([i])));
        const p = peer();
        return Buffer.from(await keys.deriveSharedSecret(agreer, p.publicKey)).equals(p.secretWith(agreer));
      }),
    );
  }

  it('reconnects after its sessions (and the workers’) were closed under it, for many callers at once', async () => {
    const signer = await keys.generateKeyPair({ usage: 'sign', label: 'wr-s' });
    const agreer = await keys.generateKeyPair({ usage: 'agree', label: 'wr-a' });
    expect(await mixed(signer, agreer, 8)).toEqual(Array(8).fill(true));
    const lib = otherUser();
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.label)!;
    lib.C_CloseAllSessions(slot);
    expect(await mixed(signer, agreer, 16)).toEqual(Array(16).fill(true));
  });

  it('reconnects after the module was finalized, for many callers at once, twice', async () => {
    const signer = await keys.generateKeyPair({ usage: 'sign', label: 'wf-s' });
    const agreer = await keys.generateKeyPair({ usage: 'agree', label: 'wf-a' });
    expect(await mixed(signer, agreer, 8)).toEqual(Array(8).fill(true));
    for (let round = 0; round < 2; round++) {
      otherUser().C_Finalize();
      expect(await mixed(signer, agreer, 16)).toEqual(Array(16).fill(true));
    }
  });

  it('reports E_HSM_UNAVAILABLE to every caller while the token is gone, and reconnects once it is back', async () => {
    const signer = await keys.generateKeyPair({ usage: 'sign', label: 'wg-s' });
    const agreer = await keys.generateKeyPair({ usage: 'agree', label: 'wg-a' });
    const emptyConf = join(token.dir, 'empty.conf');
    await mkdir(join(token.dir, 'no-tokens'), { recursive: true });
    await writeFile(emptyConf, `directories.tokendir = ${join(token.dir, 'no-tokens')}\n`);
    process.env['SOFTHSM2_CONF'] = emptyConf;
    otherUser().C_Finalize();
    try {
      const settled = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => keys.sign(signer, new Uint8Array([i]))));
      for (const r of settled) expect(r.status === 'rejected' && SigilError.is(r.reason, 'E_HSM_UNAVAILABLE')).toBe(true);
    } finally {
      process.env['SOFTHSM2_CONF'] = token.conf;
      otherUser().C_Finalize();
    }
    expect(await mixed(signer, agreer, 12)).toEqual(Array(12).fill(true));
  });
});
