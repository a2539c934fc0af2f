// The fault-injecting wrapper of @sigil/hsm-adapter/testing, around a real Pkcs11KeyBackend on
// SoftHSM. Each fault is made for real on the token first (wrong PIN, token gone, sessions
// closed under the backend, mechanism missing) and the injected one must give the same
// SigilError code (and detail, where the real one is the same whatever the timing).
// This file finalizes the module and moves token files on purpose: it runs in its own process.
import { createECDH } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkcs11js from 'pkcs11js';
import type { KeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { createSoftHsmTestToken, injectFaults, type FaultInjector, type SoftHsmTestToken } from '@sigil/hsm-adapter/testing';

const text = (s: string) => new TextEncoder().encode(s);
const SECOND = { label: 'sigil-faults-2', pin: '2222bbbb' };

let token: SoftHsmTestToken;
let keys: Pkcs11KeyBackend;
let faults: FaultInjector<Pkcs11KeyBackend>;
let signer: KeyRef;
let agreer: KeyRef;

beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-faults' });
  // A second token, never logged in by this process: a wrong PIN reaches the token's C_Login.
  await token.addToken(SECOND);
  keys = await Pkcs11KeyBackend.open(token.location);
  faults = injectFaults(keys);
  signer = await keys.generateKeyPair({ usage: 'sign', label: 'faults-sign' });
  agreer = await keys.generateKeyPair({ usage: 'agree', label: 'faults-agree' });
});
afterAll(async () => {
  await keys?.close();
  await token?.remove();
});

/** How a call ended: 'ok', or the SigilError's [code, detail]. */
async function outcome(p: Promise<unknown>): Promise<'ok' | readonly [string, string | undefined]> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (!SigilError.is(e)) throw e;
    return [e.code, e.detail];
  }
}

async function signsAndVerifies(backend: Pick<Pkcs11KeyBackend, 'sign'>, message: string): Promise<boolean> {
  const sig = await backend.sign(signer, text(message));
  // WebCrypto's ECDSA signatures are IEEE P1363 r || s, as the backend's (KeyBackend contract).
  const key = await crypto.subtle.importKey('raw', new Uint8Array(signer.publicKey), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, new Uint8Array(sig), text(message));
}

/** Another user of the same module in this process (the module is process-wide state). */
function otherUser(): InstanceType<typeof pkcs11js.PKCS11> {
  const lib = new pkcs11js.PKCS11();
  lib.load(token.module);
  return lib;
}

describe('injectFaults', () => {
  it('without a fault, every call goes to the backend', async () => {
    expect(await signsAndVerifies(faults.backend, 'plain')).toBe(true);
    expect((await faults.backend.getKey(signer.id))?.id).toBe(signer.id);
    const w = await faults.backend.generateWrappingKey({ label: 'faults-w' });
    expect(new TextDecoder().decode(await faults.backend.unwrap(w, await faults.backend.wrap(w, text('kept'))))).toBe('kept');
    expect((await faults.backend.describeToken()).label).toBe('sigil-faults');
    expect(faults.strikes).toBe(0);
  });

  it('wrong PIN: E_HSM_PIN / CKR_PIN_INCORRECT, as the token gives it to Pkcs11KeyBackend.open', async () => {
    const real = await outcome(Pkcs11KeyBackend.open({ module: token.module, token: SECOND.label, pin: 'not-the-pin' }));
    expect(real).toEqual(['E_HSM_PIN', 'CKR_PIN_INCORRECT']);
    faults.inject({ kind: 'wrong-pin' });
    try {
      expect(await outcome(faults.backend.sign(signer, text('x')))).toEqual(real);
      expect(await outcome(faults.backend.listKeys())).toEqual(real);
    } finally {
      faults.clear();
    }
    expect(await signsAndVerifies(faults.backend, 'after wrong pin')).toBe(true);
  });

  it('device removed: E_HSM_UNAVAILABLE as when the token files go away; one blip is absorbed by the reconnect', async () => {
    const tokens = join(token.dir, 'tokens');
    const away = join(token.dir, 'tokens-away');
    await rename(tokens, away);
    let real;
    try {
      real = await outcome(keys.sign(signer, text('gone')));
    } finally {
      await rename(away, tokens);
    }
    expect(real?.[0]).toBe('E_HSM_UNAVAILABLE');
    expect(await signsAndVerifies(keys, 'back')).toBe(true);

    faults.inject({ kind: 'device-removed' }, { methods: ['sign'] });
    try {
      const injected = await outcome(faults.backend.sign(signer, text('gone')));
      expect(injected[0]).toBe(real?.[0]);
      expect(injected[1]).toBe('CKR_DEVICE_REMOVED');
      expect((await faults.backend.getKey(signer.id))?.id).toBe(signer.id); // only sign was asked for
    } finally {
      faults.clear();
    }
    const reconnects = faults.reconnects;
    faults.inject({ kind: 'device-removed' }, { times: 1 });
    expect(await signsAndVerifies(faults.backend, 'blip')).toBe(true);
    expect(faults.reconnects).toBe(reconnects + 1);
  });

  it('invalid session handle: the adapter reconnects (the call succeeds); still invalid after it, E_HSM_UNAVAILABLE', async () => {
    // For real: every session of the backend closed under it.
    const lib = otherUser();
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.label);
    lib.C_CloseAllSessions(slot!);
    expect(await signsAndVerifies(keys, 'after close-all')).toBe(true);
    // Injected once: the same, and the wrapper counts the reconnect.
    const before = { strikes: faults.strikes, reconnects: faults.reconnects };
    faults.inject({ kind: 'session-invalid' }, { times: 1 });
    expect(await signsAndVerifies(faults.backend, 'after one invalid session')).toBe(true);
    expect([faults.strikes, faults.reconnects]).toEqual([before.strikes + 1, before.reconnects + 1]);
    // Injected for good: the retry fails too, and that is E_HSM_UNAVAILABLE (ckr.ts).
    faults.inject({ kind: 'session-invalid' });
    try {
      expect(await outcome(faults.backend.deriveSharedSecret(agreer, new Uint8Array(createECDH('prime256v1').generateKeys())))).toEqual([
        'E_HSM_UNAVAILABLE',
        'CKR_SESSION_HANDLE_INVALID',
      ]);
    } finally {
      faults.clear();
    }
  });

  it('unsupported mechanism: E_HSM_MECHANISM with the mechanism in detail, as on a token without it', async () => {
    // For real: SoftHSM's slots.mechanisms allow-list (softhsm2.conf(5)) without ECDH and AES.
    const limited = join(token.dir, 'limited.conf');
    await writeFile(limited, `directories.tokendir = ${join(token.dir, 'tokens')}\nslots.mechanisms = CKM_EC_KEY_PAIR_GEN,CKM_ECDSA\n`);
    const peer = new Uint8Array(createECDH('prime256v1').generateKeys());
    let realDerive;
    let realWrap;
    process.env['SOFTHSM2_CONF'] = limited;
    otherUser().C_Finalize();
    try {
      realDerive = await outcome(keys.deriveSharedSecret(agreer, peer));
      realWrap = await outcome(keys.generateWrappingKey({ label: 'no-aes' }));
    } finally {
      process.env['SOFTHSM2_CONF'] = token.conf;
      otherUser().C_Finalize();
    }
    expect(realDerive).toEqual(['E_HSM_MECHANISM', 'CKM_ECDH1_DERIVE']);
    expect(realWrap).toEqual(['E_HSM_MECHANISM', 'CKM_AES_KEY_GEN']);

    faults.inject({ kind: 'mechanism-unsupported', mechanism: 'CKM_ECDH1_DERIVE' });
    try {
      expect(await outcome(faults.backend.deriveSharedSecret(agreer, peer))).toEqual(realDerive);
      expect(await signsAndVerifies(faults.backend, 'ecdsa is still there')).toBe(true);
    } finally {
      faults.clear();
    }
    faults.inject({ kind: 'mechanism-unsupported' });
    try {
      expect(await outcome(faults.backend.generateWrappingKey({ label: 'no-aes' }))).toEqual(realWrap);
      expect(await outcome(faults.backend.sign(signer, text('x')))).toEqual(['E_HSM_MECHANISM', 'CKM_ECDSA']);
      expect(await outcome(faults.backend.listKeys())).toBe('ok'); // needs no mechanism
    } finally {
      faults.clear();
    }
    expect((await keys.deriveSharedSecret(agreer, peer)).length).toBe(32);
  });

  it('latency: each struck call waits that long first; `times` bounds it', async () => {
    faults.inject({ kind: 'latency', ms: 120 }, { methods: ['sign'], times: 1 });
    let started = performance.now();
    expect(await signsAndVerifies(faults.backend, 'slow')).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(119);
    started = performance.now();
    expect(await signsAndVerifies(faults.backend, 'fast again')).toBe(true);
    expect(performance.now() - started).toBeLessThan(100);
    faults.clear();
  });

  it('an injected failure never reaches the token', async () => {
    faults.inject({ kind: 'device-removed' }, { methods: ['generateKeyPair'] });
    try {
      expect((await outcome(faults.backend.generateKeyPair({ usage: 'sign', label: 'never-made' })))[0]).toBe('E_HSM_UNAVAILABLE');
    } finally {
      faults.clear();
    }
    expect(await keys.listKeys({ label: 'never-made' })).toEqual([]);
  });

  it('refuses a bad `times` or `ms`, and wraps only the methods the backend has', async () => {
    expect(() => faults.inject({ kind: 'wrong-pin' }, { times: -1 })).toThrow(RangeError);
    expect(() => faults.inject({ kind: 'wrong-pin' }, { times: 1.5 })).toThrow(RangeError);
    expect(() => faults.inject({ kind: 'latency', ms: Number.NaN })).toThrow(RangeError);
    const software = injectFaults({
      generateKeyPair: () => Promise.reject(new Error('unused')),
      sign: (_ref: unknown, _data: Uint8Array) => Promise.resolve(new Uint8Array(64)),
      deriveSharedSecret: () => Promise.reject(new Error('unused')),
      getKey: () => Promise.resolve(undefined),
      listKeys: () => Promise.resolve([]),
      deleteKey: () => Promise.resolve(),
      describeKey: () => Promise.reject(new Error('unused')),
    });
    expect(Object.keys(software.backend).sort()).toEqual(['deleteKey', 'deriveSharedSecret', 'describeKey', 'generateKeyPair', 'getKey', 'listKeys', 'sign']);
    software.inject({ kind: 'wrong-pin' }, { times: 1 });
    expect(await outcome(software.backend.sign(signer, text('x')))).toEqual(['E_HSM_PIN', 'CKR_PIN_INCORRECT']);
    expect(await outcome(software.backend.sign(signer, text('x')))).toBe('ok');
  });
});
