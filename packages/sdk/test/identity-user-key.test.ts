// User-key epochs with their wraps (docs/STATEMENTS.md §5): each current device opens the new
// user key, a new device walks the chain back, a revoked device gets nothing, and a blob the
// signed statement does not name is refused before it is opened.
import { beforeAll, describe, expect, it } from 'vitest';
import { SigilError, WebCryptoKeyBackend, decrypt, encrypt, type KeyRef } from '@sigil/sdk';
import {
  applyStatement,
  chainAfter,
  createUserKeyEpoch,
  genesisHeader,
  importUserKey,
  openPreviousUserKey,
  openUserKeyWrap,
  signStatement,
  USER_KEY_WRAP_LENGTH,
  type AccountState,
  type CreatedUserKeyEpoch,
  type UserKeyPair,
} from '@sigil/sdk/identity';
import { proveDevicePossession } from '@sigil/sdk/identity';

interface Device {
  readonly backend: WebCryptoKeyBackend;
  readonly sign: KeyRef;
  readonly agree: KeyRef;
}
const opener = (d: Device) => ({ id: d.sign.id, backend: d.backend, agreementKey: d.agree });

async function newDevice(label: string): Promise<Device> {
  const backend = new WebCryptoKeyBackend();
  return { backend, sign: await backend.generateKeyPair({ usage: 'sign', label }), agree: await backend.generateKeyPair({ usage: 'agree', label }) };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('user-key epochs with wraps', () => {
  const accountId = 'bob@example.org';
  let rootBackend: WebCryptoKeyBackend;
  let root: KeyRef;
  let laptop: Device;
  let phone: Device;
  let state: AccountState;
  const epochs: CreatedUserKeyEpoch[] = [];
  const states: AccountState[] = [];

  const apply = async (signed: Uint8Array) => {
    state = await applyStatement(state, signed, { accountId });
  };
  const certify = async (d: Device, name: string) =>
    apply(await signStatement({ kind: 'device-certificate', ...chainAfter(state, root.id), device: { signingKey: d.sign.publicKey, agreementKey: d.agree.publicKey, possessionSignature: await proveDevicePossession(accountId, { backend: d.backend, signing: d.sign, agreement: d.agree }), name } }, { backend: rootBackend, ref: root }));

  beforeAll(async () => {
    rootBackend = new WebCryptoKeyBackend();
    root = await rootBackend.generateKeyPair({ usage: 'sign', label: 'root' });
    laptop = await newDevice('laptop');
    phone = await newDevice('phone');
    state = await applyStatement(
      undefined,
      await signStatement({ kind: 'genesis', ...genesisHeader(accountId, root.id), roots: [{ type: 'service', publicKey: root.publicKey }] }, { backend: rootBackend, ref: root }),
      { accountId },
    );
    await certify(laptop, 'laptop');
    epochs.push(await createUserKeyEpoch(state, { signer: { backend: laptop.backend, ref: laptop.sign } }));
    await apply(epochs[0]!.statement);
    states.push(state);
    await certify(phone, 'phone');
    epochs.push(await createUserKeyEpoch(state, { signer: { backend: laptop.backend, ref: laptop.sign }, previous: epochs[0]!.userKey }));
    await apply(epochs[1]!.statement);
    states.push(state);
    await apply(await signStatement({ kind: 'device-revocation', ...chainAfter(state, root.id), deviceId: laptop.sign.id }, { backend: rootBackend, ref: root }));
    epochs.push(await createUserKeyEpoch(state, { signer: { backend: phone.backend, ref: phone.sign }, previous: epochs[1]!.userKey }));
    await apply(epochs[2]!.statement);
  });

  it('publishes epochs whose statements commit to one wrap per current device', () => {
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(epochs.map((e) => e.wraps.map((w) => w.deviceId))).toEqual([[laptop.sign.id], [laptop.sign.id, phone.sign.id].sort(), [phone.sign.id]]);
    for (const e of epochs) for (const w of e.wraps) expect(w.blob.length).toBe(USER_KEY_WRAP_LENGTH);
    expect(epochs[0]!.previousKeyWrap).toBeUndefined();
    expect(state.userKey?.epoch).toBe(3);
    expect(state.userKey?.publicKey).toEqual(epochs[2]!.userKey.publicKey);
    expect(state.rotationNeeded).toBe(false);
  });

  it('lets each device open its own wrap, and walk the chain back to epoch 1', async () => {
    const k1 = await openUserKeyWrap(state, 1, epochs[0]!.wraps[0]!.blob, opener(laptop));
    expect(hex(k1.privateKey)).toBe(hex(epochs[0]!.userKey.privateKey));
    const phoneWrap2 = epochs[1]!.wraps.find((w) => w.deviceId === phone.sign.id)!.blob;
    const k2 = await openUserKeyWrap(state, 2, phoneWrap2, opener(phone));
    expect(hex(k2.privateKey)).toBe(hex(epochs[1]!.userKey.privateKey));
    // The phone was certified after epoch 1: it reaches epoch 1 only through the chain.
    const k3 = await openUserKeyWrap(state, 3, epochs[2]!.wraps[0]!.blob, opener(phone));
    const back2 = await openPreviousUserKey(state, 3, epochs[2]!.previousKeyWrap!, k3);
    const back1 = await openPreviousUserKey(state, 2, epochs[1]!.previousKeyWrap!, back2);
    expect(hex(back2.privateKey)).toBe(hex(k2.privateKey));
    expect(hex(back1.privateKey)).toBe(hex(k1.privateKey));
    await expect(openPreviousUserKey(state, 1, new Uint8Array(USER_KEY_WRAP_LENGTH), back1)).rejects.toSatisfy((e) => SigilError.is(e, 'E_KEY_NOT_FOUND'));
  });

  it('gives a revoked device no wrap of the epoch after its revocation', async () => {
    // The laptop tries the phone's blob: the statement names no blob for the laptop.
    await expect(openUserKeyWrap(state, 3, epochs[2]!.wraps[0]!.blob, opener(laptop))).rejects.toSatisfy(
      (e) => SigilError.is(e, 'E_DIRECTORY_PROOF') && e.detail === 'wrap-hash',
    );
  });

  it('refuses blobs the signed statement does not name, before opening them', async () => {
    const blob = epochs[0]!.wraps[0]!.blob;
    for (let at = 0; at < blob.length; at += 7) {
      const b = new Uint8Array(blob);
      b[at]! ^= 1;
      await expect(openUserKeyWrap(state, 1, b, opener(laptop))).rejects.toSatisfy((e) => SigilError.is(e, 'E_DIRECTORY_PROOF'));
    }
    await expect(openUserKeyWrap(state, 1, blob.subarray(1), opener(laptop))).rejects.toSatisfy((e) => SigilError.is(e, 'E_DIRECTORY_PROOF'));
    // A valid blob of another epoch, or the chain blob in place of a device wrap.
    const laptop2 = epochs[1]!.wraps.find((w) => w.deviceId === laptop.sign.id)!.blob;
    await expect(openUserKeyWrap(state, 1, laptop2, opener(laptop))).rejects.toSatisfy((e) => SigilError.is(e, 'E_DIRECTORY_PROOF'));
    await expect(openUserKeyWrap(state, 2, epochs[1]!.previousKeyWrap!, opener(laptop))).rejects.toSatisfy((e) => SigilError.is(e, 'E_DIRECTORY_PROOF'));
    await expect(openUserKeyWrap(state, 9, blob, opener(laptop))).rejects.toSatisfy((e) => SigilError.is(e, 'E_KEY_NOT_FOUND'));
  });

  it('imports the user key non-extractable and opens envelopes sent to the account', async () => {
    const sender = await newDevice('sender');
    const envelope = await encrypt(new TextEncoder().encode('to bob, epoch 3'), {
      to: [{ publicKey: state.userKey!.publicKey, epoch: 3 }],
      from: { backend: sender.backend, ref: sender.sign },
    });
    const k3: UserKeyPair = await openUserKeyWrap(state, 3, epochs[2]!.wraps[0]!.blob, opener(phone));
    const keys = new WebCryptoKeyBackend();
    const ref = await importUserKey(keys, k3);
    expect(ref.publicKey).toEqual(state.userKey!.publicKey);
    expect((await keys.describeKey(ref)).extractable).toBe(false);
    const opened = await decrypt(envelope, { keys });
    expect(new TextDecoder().decode(opened.plaintext)).toBe('to bob, epoch 3');
  });

  it('rejects misuse: no previous key for epoch > 1, or the wrong one', async () => {
    const signer = { backend: phone.backend, ref: phone.sign };
    await expect(createUserKeyEpoch(state, { signer })).rejects.toBeInstanceOf(TypeError);
    await expect(createUserKeyEpoch(state, { signer, previous: epochs[0]!.userKey })).rejects.toBeInstanceOf(RangeError);
    expect(states[0]!.userKey?.epoch).toBe(1);
  });
});
