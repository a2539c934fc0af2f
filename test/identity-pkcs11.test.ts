// A service account whose root and device keys live in a PKCS#11 token (SoftHSM): the root
// signs the genesis and the device certificate through Pkcs11KeyBackend.sign, the device
// publishes a user-key epoch with its token key and opens its wrap through the token's ECDH.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { SigilError, type KeyRef } from '@sigil/sdk';
import {
  applyStatement,
  chainAfter,
  createUserKeyEpoch,
  genesisHeader,
  openUserKeyWrap,
  signStatement,
  verifyAccountLog,
  type AccountState,
} from '@sigil/sdk/identity';
import { createSoftHsmTestToken, type SoftHsmTestToken } from '@sigil/hsm-adapter/testing';
import { proveDevicePossession } from '@sigil/sdk/identity';

describe('an account rooted at a key in SoftHSM (Pkcs11KeyBackend)', () => {
  let token: SoftHsmTestToken;
  let backend: Pkcs11KeyBackend;
  let root: KeyRef;
  let deviceSign: KeyRef;
  let deviceAgree: KeyRef;
  const accountId = 'billing-service@example.org';
  const log: Uint8Array[] = [];
  let state: AccountState;

  beforeAll(async () => {
    token = await createSoftHsmTestToken({ label: 'sigil-identity-test' });
    backend = await Pkcs11KeyBackend.open(token.location);
    root = await backend.generateKeyPair({ usage: 'sign', label: 'service-root' });
    deviceSign = await backend.generateKeyPair({ usage: 'sign', label: 'service-device' });
    deviceAgree = await backend.generateKeyPair({ usage: 'agree', label: 'service-device' });
    const append = async (signed: Uint8Array) => {
      state = await applyStatement(log.length === 0 ? undefined : state, signed, { accountId });
      log.push(signed);
    };
    await append(
      await signStatement({ kind: 'genesis', ...genesisHeader(accountId, root.id), roots: [{ type: 'service', publicKey: root.publicKey }] }, { backend, ref: root }),
    );
    await append(
      await signStatement(
        { kind: 'device-certificate', ...chainAfter(state, root.id), device: { signingKey: deviceSign.publicKey, agreementKey: deviceAgree.publicKey, possessionSignature: await proveDevicePossession(state.accountId, { backend, signing: deviceSign, agreement: deviceAgree }), name: 'billing-1' } },
        { backend, ref: root },
      ),
    );
  });
  afterAll(async () => {
    await backend?.close();
    await token?.remove();
  });

  it('verifies a history signed inside the token', async () => {
    const s = await verifyAccountLog(log, { accountId });
    expect(s.roots.map((r) => [r.type, r.id])).toEqual([['service', root.id]]);
    expect(s.devices.map((d) => d.id)).toEqual([deviceSign.id]);
  });

  it('publishes a user-key epoch signed by the token device key and opens it with the token ECDH key', async () => {
    const created = await createUserKeyEpoch(state, { signer: { backend, ref: deviceSign } });
    const next = await applyStatement(state, created.statement, { accountId });
    expect(next.userKey?.epoch).toBe(1);
    const opened = await openUserKeyWrap(next, 1, created.wraps[0]!.blob, { id: deviceSign.id, backend, agreementKey: deviceAgree });
    expect(Buffer.from(opened.publicKey).equals(Buffer.from(next.userKey!.publicKey))).toBe(true);
  });

  it('rejects each single-byte change of the token-signed certificate', async () => {
    const prev = await verifyAccountLog(log.slice(0, 1), { accountId });
    const cert = log[1]!;
    for (let at = 0; at < cert.length; at++) {
      const b = new Uint8Array(cert);
      b[at]! ^= 0x10;
      await expect(applyStatement(prev, b, { accountId })).rejects.toSatisfy((e) => SigilError.is(e, 'E_DIRECTORY_PROOF'));
    }
  });
});
