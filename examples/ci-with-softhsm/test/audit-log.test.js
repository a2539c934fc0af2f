// The audit log on this worker's SoftHSM token (vitest + @sigil/hsm-adapter/testing), its
// happy path and the failure paths the kit's fault wrapper makes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { injectFaults, seedKeys, workerSoftHsmToken } from '@sigil/hsm-adapter/testing';
import { openAuditLog, verifyEntry } from '../src/audit-log.js';

/** @type {Pkcs11KeyBackend} */
let keys;
/** @type {import('@sigil/sdk/backend').KeyRef} */
let logKey;

beforeAll(async () => {
  const token = await workerSoftHsmToken();
  keys = await Pkcs11KeyBackend.open(token.location);
  ({ 'directory-log': logKey } = await seedKeys(keys, [{ label: 'directory-log', usage: 'sign' }]));
});
afterAll(async () => {
  await keys?.close();
});

describe('audit log', () => {
  it('signs each entry with the token key; anyone can check it', async () => {
    const log = openAuditLog(keys, logKey);
    expect(await log.append('alice logged in')).toBe('signed');
    const [first] = log.entries();
    expect(await verifyEntry(logKey.publicKey, first)).toBe(true);
    expect(await verifyEntry(logKey.publicKey, { ...first, entry: 'mallory logged in' })).toBe(false);
  });

  it('token gone: entries are queued, then signed in order once it is back', async () => {
    const faults = injectFaults(keys);
    const log = openAuditLog(faults.backend, logKey);
    faults.inject({ kind: 'device-removed' });
    expect(await log.append('one')).toBe('queued');
    expect(await log.append('two')).toBe('queued');
    expect(log.pending()).toBe(2);
    faults.clear();
    expect(await log.append('three')).toBe('signed');
    expect(log.entries().map((e) => e.entry)).toEqual(['one', 'two', 'three']);
    for (const e of log.entries()) expect(await verifyEntry(logKey.publicKey, e)).toBe(true);
  });

  it('a stale session is absorbed by the adapter: nothing queued', async () => {
    const faults = injectFaults(keys);
    faults.inject({ kind: 'session-invalid' }, { times: 1 });
    expect(await openAuditLog(faults.backend, logKey).append('blip')).toBe('signed');
    expect(faults.reconnects).toBe(1);
  });

  it('a wrong PIN or a missing mechanism is a configuration error: thrown, not queued', async () => {
    const faults = injectFaults(keys);
    const log = openAuditLog(faults.backend, logKey);
    faults.inject({ kind: 'wrong-pin' }, { times: 1 });
    await expect(log.append('x')).rejects.toMatchObject({ code: 'E_HSM_PIN' });
    faults.inject({ kind: 'mechanism-unsupported', mechanism: 'CKM_ECDSA' }, { times: 1 });
    await expect(log.append('y')).rejects.toMatchObject({ code: 'E_HSM_MECHANISM', detail: 'CKM_ECDSA' });
    expect(log.pending()).toBe(0);
  });

  it('a slow token slows the log, nothing more', async () => {
    const faults = injectFaults(keys);
    faults.inject({ kind: 'latency', ms: 50 });
    const started = performance.now();
    expect(await openAuditLog(faults.backend, logKey).append('slow')).toBe('signed');
    expect(performance.now() - started).toBeGreaterThanOrEqual(49);
  });
});
