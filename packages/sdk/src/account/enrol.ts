// How a device becomes one of an account: connect (already certified), enrol a service account
// (a KeyBackend root), enrol a WebAuthn-rooted account (a credential just registered). Each
// returns the DeviceAccount; `Sigil` and the browser layer wrap it.
import { keyIdOf } from '../internal/p256.js';
import type { DirectoryClient, DirectorySession } from '../directory/client.js';
import { genesisHeader } from '../identity/account-state.js';
import { signStatement } from '../identity/signed-statement.js';
import type { WebAuthnAssertion } from '../identity/webauthn.js';
import type { KeyBackend, KeyRef } from '../backend/key-backend.js';
import { certify, checkDeviceKeys, DeviceAccount, rootId, signWithRoot, type DeviceKeys, type RootSigner } from './device-account.js';

/** A device already certified: checks it is a current device of the account, through the verified path. */
export async function connectDevice(
  directory: DirectoryClient,
  account: string,
  keys: DeviceKeys,
  session?: (() => Promise<DirectorySession>) | undefined,
): Promise<DeviceAccount> {
  checkDeviceKeys(keys);
  const device = new DeviceAccount(directory, account, keys, session);
  await device.verified();
  return device;
}

/** The genesis naming a service root, this device's certificate (both signed by the root), the first epoch. */
export async function enrolServiceAccount(
  directory: DirectoryClient,
  options: { readonly account: string; readonly root: { readonly backend: KeyBackend; readonly ref: KeyRef }; readonly keys: DeviceKeys; readonly deviceName: string },
): Promise<DeviceAccount> {
  checkDeviceKeys(options.keys);
  const { root } = options;
  if (root?.ref?.usage !== 'sign' || typeof root.backend?.sign !== 'function') throw new TypeError('"root" expected { backend, ref } of a signing key');
  const genesis = await signStatement(
    { kind: 'genesis', ...genesisHeader(options.account, root.ref.id), roots: [{ type: 'service', publicKey: root.ref.publicKey }] },
    root,
  );
  const account = await directory.publish(genesis);
  await certify(directory, account.state, root, options.keys, options.deviceName);
  const device = new DeviceAccount(directory, options.account, options.keys);
  await device.rotate();
  return device;
}

/** The WebAuthn root of a new account, as registered with the directory. */
export interface WebAuthnRootCredential {
  readonly rpId: string;
  readonly credentialId: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly getAssertion: (challenge: Uint8Array) => Promise<WebAuthnAssertion>;
}

/** The genesis and this device's certificate, each signed by an assertion of the credential, then the first epoch. */
export async function enrolWebAuthnAccount(
  directory: DirectoryClient,
  options: {
    readonly account: string;
    readonly root: WebAuthnRootCredential;
    readonly registrationSession: DirectorySession;
    readonly keys: DeviceKeys;
    readonly deviceName: string;
    readonly session?: (() => Promise<DirectorySession>) | undefined;
  },
): Promise<DeviceAccount> {
  checkDeviceKeys(options.keys);
  const r = options.root;
  const signer: RootSigner = { id: await keyIdOf(r.publicKey), getAssertion: r.getAssertion };
  const genesis = await signWithRoot(
    {
      kind: 'genesis',
      ...genesisHeader(options.account, rootId(signer)),
      roots: [{ type: 'webauthn', publicKey: r.publicKey, rpId: r.rpId, credentialId: r.credentialId }],
    },
    signer,
  );
  const account = await directory.publish(genesis, { session: options.registrationSession });
  await certify(directory, account.state, signer, options.keys, options.deviceName);
  const device = new DeviceAccount(directory, options.account, options.keys, options.session);
  await device.rotate();
  return device;
}
