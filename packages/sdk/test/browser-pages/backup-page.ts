// Page code of the passkey-backup and local-cache tests: `registerWithPasskey` / `signInWithPasskey`
// against the real directory (same origin), through the SDK's public API.
import { DirectoryClient } from '@sigil/sdk';
import { BrowserKeyStore, openWithPrfKek, prfSalt, sealWithPrfKek, registerWithPasskey, signInWithPasskey, type PasskeySignIn } from '@sigil/sdk/browser';
import { signInWithWebAuthn } from '../../src/browser/webauthn.js';
import { fromBase64Url, toBase64Url } from '../../src/internal/bytes.js';
import { encodeUserKeyChain } from '../../src/browser/key-chain.js';

let me: PasskeySignIn | undefined;

function current(): PasskeySignIn {
  if (me === undefined) throw new Error('not signed in');
  return me;
}

function show(line: string): void {
  const p = document.createElement('p');
  p.textContent = line;
  document.body.append(p);
}

function summary(a: PasskeySignIn) {
  show(`${a.account}: device ${a.sigil.deviceId.slice(0, 8)}, ${a.mode}, keys from ${a.userKeys}`);
  return { account: a.account, mode: a.mode, deviceId: a.sigil.deviceId, newDevice: a.newDevice, userKeys: a.userKeys, backup: a.backup };
}

// The sealed local cache's entry name in the account's key store (browser/key-chain.ts).
const CACHE = 'user-key-cache';

async function keyStore(account: string): Promise<BrowserKeyStore> {
  return BrowserKeyStore.open({ name: `sigil:${account}` });
}

const api = {
  async register(logPublicKey: string, account: string, displayName: string, timeoutMs: number) {
    me = await registerWithPasskey({ directory: location.origin, logPublicKey, account, displayName, deviceName: 'first browser', timeoutMs });
    return summary(me);
  },

  async signIn(logPublicKey: string, account: string | undefined, timeoutMs: number, deviceName = 'another browser') {
    me = await signInWithPasskey({ directory: location.origin, logPublicKey, account, deviceName, timeoutMs });
    return summary(me);
  },

  async send(to: string, text: string): Promise<number> {
    return current().sigil.send(to, new TextEncoder().encode(text));
  },

  /** Every message in the mailbox, opened (or the error code it got). */
  async readMailbox(): Promise<string[]> {
    const s = current().sigil;
    const out: string[] = [];
    for (const m of await s.list()) {
      try {
        out.push(new TextDecoder().decode((await s.decrypt(m.envelope, { from: m.senderId })).plaintext));
      } catch (e) {
        out.push(`error:${(e as { code?: string }).code}`);
      }
    }
    show(`read ${out.join(' | ')}`);
    return out;
  },

  async rotate(): Promise<number> {
    return current().sigil.rotate();
  },

  async encryptTo(to: string[], text: string): Promise<string> {
    return toBase64Url(await current().sigil.encrypt(new TextEncoder().encode(text), { to }));
  },

  async decrypt(envelopeB64: string): Promise<string> {
    const envelope = fromBase64Url(envelopeB64);
    if (envelope === undefined) throw new TypeError('bad base64url');
    return new TextDecoder().decode((await current().sigil.decrypt(envelope)).plaintext);
  },

  /** The sealed local cache of `account` in this browser (base64url), or null. */
  async sealedCache(account: string): Promise<string | null> {
    const store = await keyStore(account);
    try {
      const sealed = await store.getSealed(CACHE);
      return sealed === undefined ? null : toBase64Url(sealed);
    } finally {
      store.close();
    }
  },

  /** Flips one bit of the sealed local cache at `index`. */
  async tamperCache(account: string, index: number): Promise<void> {
    const store = await keyStore(account);
    try {
      const sealed = await store.getSealed(CACHE);
      if (sealed === undefined) throw new Error('no cache');
      sealed[index % sealed.length]! ^= 1;
      await store.putSealed(CACHE, sealed);
    } finally {
      store.close();
    }
  },

  /**
   * A well-formed user-key chain (one random entry) sealed with this passkey's backup key for
   * `sealFor`, and whether it opens for that account (the control).
   */
  async sealChainWithPrf(logPublicKey: string, account: string, sealFor: string, timeoutMs: number) {
    const directory = new DirectoryClient({ url: location.origin, logPublicKey, fetch: (input, init) => fetch(input, init) });
    const options = await directory.webAuthnLoginOptions(account);
    const { keks } = await signInWithWebAuthn(options as Parameters<typeof signInWithWebAuthn>[0], { timeoutMs });
    if (keks === undefined) throw new Error('no PRF');
    const chain = encodeUserKeyChain([{ epoch: 1, privateKey: crypto.getRandomValues(new Uint8Array(32)) }]);
    const sealed = await sealWithPrfKek(keks.passkeyBackup, chain, { account: sealFor });
    const opened = await openWithPrfKek(keks.passkeyBackup, sealed, { account: sealFor });
    return { sealedB64: toBase64Url(sealed), opensForItsAccount: toBase64Url(opened) === toBase64Url(chain) };
  },

  /** TEST ONLY: this tab's raw PRF output on Sigil's salt, for the searches of what the server kept. */
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
};

(globalThis as unknown as { sigilTest: typeof api }).sigilTest = api;
