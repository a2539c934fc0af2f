// The module re-initialisation behind reconnect (src/internal/reconnect.ts), with a stand-in
// module: it never finalizes under a call in flight, waits for the calls' own ends rather
// than polling, and gives up with a typed error instead of hanging.
import { describe, expect, it } from 'vitest';
import type { PKCS11 } from 'pkcs11js';
import { SigilError } from '@sigil/sdk/errors';
import { leaseReturned, leaseTaken, type LoadedModule } from '../src/internal/module-registry.js';
import { reinitializeModule } from '../src/internal/reconnect.js';

function standIn(): { module: LoadedModule; calls: string[] } {
  const calls: string[] = [];
  const lib = { C_Finalize: () => calls.push('C_Finalize'), C_Initialize: () => calls.push('C_Initialize') } as unknown as PKCS11;
  return { module: { path: 'stand-in.so', lib, refs: 1, pins: new Map([['t', Buffer.alloc(32)]]), busy: 0, idle: [] }, calls };
}

describe('reinitializeModule', () => {
  it('finalizes and initializes an idle module at once, and forgets its logins', async () => {
    const { module, calls } = standIn();
    await reinitializeModule(module, 1_000);
    expect(calls).toEqual(['C_Finalize', 'C_Initialize']);
    expect(module.pins.size).toBe(0);
  });

  it('waits until the last call in flight has returned its session, then re-initialises once for all who asked', async () => {
    const { module, calls } = standIn();
    leaseTaken(module);
    leaseTaken(module);
    const first = reinitializeModule(module, 5_000);
    const second = reinitializeModule(module, 5_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual([]);
    leaseReturned(module);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual([]);
    leaseReturned(module);
    await Promise.all([first, second]);
    expect(calls).toEqual(['C_Finalize', 'C_Initialize']);
  });

  it('gives up with E_HSM_UNAVAILABLE (module-busy) when a call never returns, without finalizing under it', async () => {
    const { module, calls } = standIn();
    leaseTaken(module);
    const started = performance.now();
    const e = await reinitializeModule(module, 50).catch((x: unknown) => x);
    expect(SigilError.is(e, 'E_HSM_UNAVAILABLE')).toBe(true);
    expect((e as SigilError).detail).toBe('module-busy');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(calls).toEqual([]);
    expect(module.idle).toEqual([]); // no waiter left behind
    leaseReturned(module);
  });
});
