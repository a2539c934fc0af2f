// Issue 13, item 2, with a real SoftHSM token: the server's log key in the token, the token's
// directory moved away (and the module re-read, as after a token is pulled) and moved back. While
// it is gone, a statement is refused with 503 E_HSM_UNAVAILABLE and nothing is appended, the
// failure is logged at error level, lookups go on against the last checkpoint; once it is back
// the server signs again without a restart. This file finalizes the module on purpose, so it
// runs in its own process (vitest pool: forks).
import { rename } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { memoryLogger, openPkcs11LogKey, startDirectoryServer, type RunningDirectory } from '@sigil/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64u, signServiceGenesis } from '../packages/server/test/directory-fixture.js';
import { ckrThrownBy, createSoftHsmTestToken, type SoftHsmTestToken } from '../packages/hsm-adapter/test/support/softhsm.js';

let token: SoftHsmTestToken;
let server: RunningDirectory;
const logger = memoryLogger();
const tmp = mkdtempSync(join(tmpdir(), 'sigil-log-token-'));

beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-log-token' });
  const logKey = await openPkcs11LogKey({ ...token.location, label: 'sigil-log' }, logger);
  server = await startDirectoryServer({ db: join(tmp, 'sigil.db'), host: '127.0.0.1', port: 0, logOrigin: 'sigil.test/log', config: {}, logKey, logger });
});
afterAll(async () => {
  await server?.close();
  await token?.remove();
  rmSync(tmp, { recursive: true, force: true });
});

/** Finalizes the module under the server's backend, as when a token is pulled and reinserted. */
function reloadModule(): void {
  const lib = new pkcs11js.PKCS11();
  lib.load(token.module);
  // Not initialized: the backend had not opened the module again since the last reload.
  const ckr = ckrThrownBy(() => lib.C_Finalize());
  if (ckr !== undefined && ckr !== pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED) throw new Error(`C_Finalize: CKR 0x${ckr.toString(16)}`);
}

async function publish(id: string): Promise<{ status: number; body: any }> {
  const backend = new WebCryptoKeyBackend();
  const root = await backend.generateKeyPair({ usage: 'sign', label: id });
  const res = await fetch(`${server.url}/v1/statements`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ statementB64: b64u(await signServiceGenesis(id, backend, root)) }),
  });
  return { status: res.status, body: await res.json() };
}

const treeSize = async () => ((await (await fetch(`${server.url}/v1/health`)).json()) as { treeSize: number }).treeSize;

describe('the log key token moved away and back', () => {
  it('503 E_HSM_UNAVAILABLE with nothing appended while it is gone, logged; reads go on; recovers by itself', async () => {
    expect((await publish('before')).status).toBe(200);
    const size = await treeSize();

    const tokens = join(token.dir, 'tokens');
    await rename(tokens, `${tokens}-away`);
    reloadModule();
    try {
      const res = await publish('during');
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body.error.code).toBe('E_HSM_UNAVAILABLE');
      expect(await treeSize()).toBe(size);
      expect(logger.lines.some((l) => l.includes('"level":"error"') && l.includes('E_HSM_UNAVAILABLE'))).toBe(true);
      expect((await fetch(`${server.url}/v1/accounts/before`)).status).toBe(200);
      expect((await fetch(`${server.url}/v1/log/checkpoint`)).status).toBe(200);
    } finally {
      await rename(`${tokens}-away`, tokens);
      reloadModule();
    }
    await new Promise((r) => setTimeout(r, 1100)); // the log asks the token again after a second
    const again = await publish('during');
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(await treeSize()).toBe(size + 1);
    const lookup = (await (await fetch(`${server.url}/v1/accounts/during`)).json()) as { statements: unknown[] };
    expect(lookup.statements).toHaveLength(1);
  });
});
