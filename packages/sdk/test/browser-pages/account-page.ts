// Page code of the browser end-to-end test: a person registers and signs in against the real
// directory (same origin), through the SDK's public API only.
import { DirectoryClient } from '@sigil/sdk';
import { prfSalt, type BrowserAccount } from '@sigil/sdk/browser';
import { enrolBrowserDevice, registerBrowserAccount, signInBrowserAccount } from '../../src/browser/account.js';
import { signInWithWebAuthn } from '../../src/browser/webauthn.js';
import { fromBase64Url, toBase64Url } from '../../src/internal/bytes.js';

let me: BrowserAccount | undefined;

function current(): BrowserAccount {
  if (me === undefined) throw new Error('not signed in');
  return me;
}

/** A line on the page, so that a screenshot shows what happened. */
function show(line: string): void {
  const p = document.createElement('p');
  p.textContent = line;
  document.body.append(p);
}

function summary(a: BrowserAccount) {
  show(`${a.account}: device ${a.sigil.deviceId.slice(0, 8)}, ${a.mode === 'prf' ? 'passkey with PRF' : 'no PRF'}`);
  return { account: a.account, mode: a.mode, deviceId: a.sigil.deviceId, hasKeks: a.keks !== undefined, rootId: a.root.id };
}

const api = {
  async register(logPublicKey: string, account: string, displayName: string, timeoutMs: number) {
    me = await registerBrowserAccount({ directory: location.origin, logPublicKey, account, displayName, deviceName: 'test browser', timeoutMs });
    return summary(me);
  },

  async signIn(logPublicKey: string, account: string | undefined, timeoutMs: number) {
    me = await signInBrowserAccount({ directory: location.origin, logPublicKey, account, timeoutMs });
    return summary(me);
  },

  async enrolDevice(logPublicKey: string, account: string | undefined, deviceName: string, timeoutMs: number) {
    me = await enrolBrowserDevice({ directory: location.origin, logPublicKey, account, deviceName, timeoutMs });
    return summary(me);
  },

  /** One sign-in ceremony whose response is sent to the directory twice; returns the second outcome. */
  async replaySignIn(logPublicKey: string, account: string, timeoutMs: number) {
    const directory = new DirectoryClient({ url: location.origin, logPublicKey, fetch: (input, init) => fetch(input, init) });
    const options = await directory.webAuthnLoginOptions(account);
    const { response } = await signInWithWebAuthn(options as Parameters<typeof signInWithWebAuthn>[0], { timeoutMs });
    const first = await directory.webAuthnLogin(response);
    try {
      await directory.webAuthnLogin(response);
      return { first: first.accountId, second: 'accepted' };
    } catch (e) {
      const err = e as { code?: string; detail?: string };
      return { first: first.accountId, second: `${err.code}/${err.detail}` };
    }
  },

  /**
   * TEST ONLY: the raw PRF output of this tab's credential on Sigil's salt, straight from
   * navigator.credentials.get, so that the test can search everything the server kept for it.
   */
  async rawPrfOutput(timeoutMs: number): Promise<string> {
    const credential = (await navigator.credentials.get({
      publicKey: {
        challenge: crypto.getRandomValues(new Uint8Array(32)),
        rpId: location.hostname,
        userVerification: 'required',
        timeout: timeoutMs,
        extensions: { prf: { eval: { first: prfSalt() } } },
      },
    })) as PublicKeyCredential;
    const first = credential.getClientExtensionResults().prf?.results?.first;
    if (first === undefined) throw new Error('no PRF output');
    return toBase64Url(new Uint8Array(first instanceof ArrayBuffer ? first : (first as ArrayBufferView).buffer));
  },

  async rotate(): Promise<number> {
    return current().sigil.rotate();
  },

  /** Revokes another device of the account; the root credential signs (one assertion). */
  async revokeDevice(deviceId: string): Promise<void> {
    const a = current();
    await a.sigil.revokeDevice(deviceId, { root: a.root });
  },

  async encryptTo(to: string[], text: string): Promise<string> {
    const envelope = await current().sigil.encrypt(new TextEncoder().encode(text), { to });
    return toBase64Url(envelope);
  },

  async decryptFrom(envelopeB64: string, from: string) {
    const envelope = fromBase64Url(envelopeB64);
    if (envelope === undefined) throw new TypeError('bad base64url');
    const { plaintext, sender } = await current().sigil.decrypt(envelope, { from });
    const text = new TextDecoder().decode(plaintext);
    show(`from ${sender.accountId}: ${text}`);
    return { text, sender };
  },

  /** Encrypts to the given accounts and decrypts as this account: the whole verified path. */
  async roundTrip(to: string[], text: string) {
    const a = current();
    const envelope = await a.sigil.encrypt(new TextEncoder().encode(text), { to });
    const { plaintext, sender } = await a.sigil.decrypt(envelope); // the sender account comes from the signed header
    return { text: new TextDecoder().decode(plaintext), sender, envelopeBytes: envelope.length };
  },
};

(globalThis as unknown as { sigilTest: typeof api }).sigilTest = api;
