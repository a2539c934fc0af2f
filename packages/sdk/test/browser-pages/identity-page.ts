// Page code of the browser identity tests, bundled by test/support/page-bundle.ts and exposed as
// `window.sigilTest`. Values cross to Node as JSON: bytes as base64url. PRF outputs never cross:
// the page keeps only the KEKs the SDK derived (non-extractable CryptoKeys).
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { keyIdOf } from '@sigil/sdk/backend';
import {
  BrowserKeyStore,
  IndexedDbClientStateStore,
  assertStatement,
  openWithPrfKek,
  sealWithPrfKek,
  webAuthnStatementSigner,
  type PrfKek,
  type PrfKeks,
  type PrfPurpose,
} from '@sigil/sdk/browser';
import { genesisHeader, signStatementWithWebAuthn, type WebAuthnRoot } from '@sigil/sdk/identity';
import { registerWebAuthnCredential, signInWithWebAuthn } from '../../src/browser/webauthn.js';
import { fromBase64Url, toBase64Url } from '../../src/internal/bytes.js';

let keks: PrfKeks | undefined;
let root: WebAuthnRoot | undefined;

function bytes(b64: string): Uint8Array {
  const b = fromBase64Url(b64);
  if (b === undefined) throw new TypeError('bad base64url from the test');
  return b;
}

function kek(purpose: PrfPurpose): PrfKek {
  if (keks === undefined) throw new Error('no PRF keys in this page (sign in with a PRF credential first)');
  return purpose === 'local-cache' ? keks.localCache : keks.passkeyBackup;
}

function currentRoot(): WebAuthnRoot {
  if (root === undefined) throw new Error('no registered root in this page');
  return root;
}

async function allStoredValues(): Promise<unknown[]> {
  const values: unknown[] = [];
  for (const info of await indexedDB.databases()) {
    if (info.name === undefined) continue;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(info.name as string);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    for (const storeName of Array.from(db.objectStoreNames)) {
      const all = await new Promise<unknown[]>((resolve, reject) => {
        const req = db.transaction(storeName, 'readonly').objectStore(storeName).getAll();
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      values.push(...all);
    }
    db.close();
  }
  return values;
}

function cryptoKeysIn(value: unknown, out: CryptoKey[] = [], depth = 0): CryptoKey[] {
  if (value instanceof CryptoKey) out.push(value);
  else if (depth < 4 && typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) cryptoKeysIn(v, out, depth + 1);
  }
  return out;
}

const api = {
  /** Generates a device signing key and agreement key, stores both; returns their ids. */
  async createDeviceKeys(name?: string): Promise<string[]> {
    const store = await BrowserKeyStore.open({ name });
    const backend = new WebCryptoKeyBackend();
    const sign = await backend.generateKeyPair({ usage: 'sign', label: 'device signing' });
    const agree = await backend.generateKeyPair({ usage: 'agree', label: 'device agreement' });
    await store.saveKey(backend, sign);
    await store.saveKey(backend, agree);
    store.close();
    return [sign.id, agree.id];
  },

  /** Loads the stored keys into a new backend and uses both (sign + verify, ECDH). */
  async useStoredKeys(name?: string): Promise<{ ids: string[]; usages: string[]; signatureVerifies: boolean; sharedSecretLength: number }> {
    const store = await BrowserKeyStore.open({ name });
    const backend = new WebCryptoKeyBackend();
    const refs = await store.loadKeys(backend);
    store.close();
    const sign = refs.find((r) => r.usage === 'sign');
    const agree = refs.find((r) => r.usage === 'agree');
    if (sign === undefined || agree === undefined) throw new Error('stored keys missing');
    const message = new TextEncoder().encode('signed after a reload');
    const signature = await backend.sign(sign, message);
    const verifyKey = await crypto.subtle.importKey('raw', new Uint8Array(sign.publicKey), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const signatureVerifies = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, verifyKey, new Uint8Array(signature), message);
    const peer = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    const peerPublic = new Uint8Array(await crypto.subtle.exportKey('raw', peer.publicKey));
    const shared = await backend.deriveSharedSecret(agree, peerPublic);
    return { ids: refs.map((r) => r.id), usages: refs.map((r) => r.usage), signatureVerifies, sharedSecretLength: shared.length };
  },

  /**
   * Rewrites the stored records of database `name` behind the SDK's back: 'swap-id' gives the
   * first record another key's id, 'bad-public-key' puts a point off the curve, 'no-private-key'
   * drops the CryptoKey. Then tries to load them.
   */
  async loadTampered(name: string, mode: 'swap-id' | 'bad-public-key' | 'no-private-key'): Promise<string[]> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const records = await new Promise<Record<string, unknown>[]>((resolve, reject) => {
      const req = db.transaction('device-keys', 'readonly').objectStore('device-keys').getAll();
      req.onsuccess = () => resolve(req.result as Record<string, unknown>[]);
      req.onerror = () => reject(req.error);
    });
    const [first, second] = records;
    if (first === undefined || second === undefined) throw new Error('two stored keys expected');
    const changed = { ...first };
    if (mode === 'swap-id') {
      // Keep the key path: delete the record and store it again under the other key's id.
      changed['id'] = second['id'];
    } else if (mode === 'bad-public-key') {
      const pk = new Uint8Array(first['publicKey'] as Uint8Array);
      pk[64] = (pk[64] as number) ^ 1;
      changed['publicKey'] = pk;
    } else {
      delete changed['privateKey'];
    }
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('device-keys', 'readwrite');
      tx.objectStore('device-keys').clear();
      tx.objectStore('device-keys').put(changed);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
    const store = await BrowserKeyStore.open({ name });
    try {
      return (await store.loadKeys(new WebCryptoKeyBackend())).map((r) => r.id);
    } finally {
      store.close();
    }
  },

  /** Saves a checkpoint note and an account head in the client state store. */
  async saveClientState(note: string, accountId: string, seq: number, headB64: string): Promise<void> {
    const state = new IndexedDbClientStateStore({ name: 'sigil-client-state-test' });
    await state.saveCheckpoint(note);
    await state.saveAccountHead(accountId, { seq, head: bytes(headB64) });
    state.close();
  },

  async loadClientState(accountId: string): Promise<{ note: string | null; head: { seq: number; headB64: string } | null }> {
    const state = new IndexedDbClientStateStore({ name: 'sigil-client-state-test' });
    const note = await state.loadCheckpoint();
    const head = await state.loadAccountHead(accountId);
    state.close();
    return { note: note ?? null, head: head === undefined ? null : { seq: head.seq, headB64: toBase64Url(head.head) } };
  },

  /** Overwrites a stored head with something that is not one, behind the store's back. */
  async corruptClientState(accountId: string): Promise<void> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('sigil-client-state-test');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('client-state', 'readwrite');
      tx.objectStore('client-state').put({ seq: 1, head: new Uint8Array(31) }, `head:${accountId}`);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  },

  /** The directory client state the SDK keeps by default (database "sigil-client-state"). */
  async defaultClientState(accountId: string): Promise<{ note: string | null; seq: number | null }> {
    const state = new IndexedDbClientStateStore();
    const note = await state.loadCheckpoint();
    const head = await state.loadAccountHead(accountId);
    state.close();
    return { note: note ?? null, seq: head?.seq ?? null };
  },

  /** The blob store: put, get, replace, delete, clear. */
  async sealedBlobRoundTrip(name: string): Promise<(string | null)[]> {
    const store = await BrowserKeyStore.open({ name });
    const seen: (string | null)[] = [];
    const get = async (k: string) => {
      const v = await store.getSealed(k);
      seen.push(v === undefined ? null : toBase64Url(v));
    };
    await get('a');
    await store.putSealed('a', Uint8Array.of(1, 2, 3));
    await get('a');
    await store.putSealed('a', Uint8Array.of(4));
    await store.putSealed('b', Uint8Array.of(5));
    await get('a');
    await store.deleteSealed('a');
    await get('a');
    await get('b');
    await store.clear();
    await get('b');
    seen.push(String((await store.listKeys()).length));
    store.close();
    return seen;
  },

  /**
   * Reads every value of every IndexedDB database of the origin directly (not through the SDK),
   * and tries to export every private CryptoKey found, in every format WebCrypto has for EC keys.
   */
  async auditStoredPrivateKeys(): Promise<{ privateKeys: number; extractableFlags: boolean[]; exported: number; failures: string[] }> {
    const keys = cryptoKeysIn(await allStoredValues()).filter((k) => k.type === 'private');
    let exported = 0;
    const failures: string[] = [];
    for (const key of keys) {
      for (const format of ['pkcs8', 'jwk', 'raw'] as const) {
        try {
          await crypto.subtle.exportKey(format, key);
          exported++;
        } catch (e) {
          failures.push(`${format}:${(e as Error).name}`);
        }
      }
    }
    return { privateKeys: keys.length, extractableFlags: keys.map((k) => k.extractable), exported, failures };
  },

  /** Every byte string stored in the origin's IndexedDB (base64url), for searching. */
  async storedBytes(): Promise<string[]> {
    const out: string[] = [];
    const walk = (v: unknown, depth: number): void => {
      if (v instanceof ArrayBuffer) out.push(toBase64Url(new Uint8Array(v)));
      else if (ArrayBuffer.isView(v)) out.push(toBase64Url(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)));
      else if (depth < 4 && typeof v === 'object' && v !== null && !(v instanceof CryptoKey)) for (const x of Object.values(v)) walk(x, depth + 1);
    };
    for (const v of await allStoredValues()) walk(v, 0);
    return out;
  },

  async register(optionsJSON: Parameters<typeof registerWebAuthnCredential>[0], timeoutMs: number) {
    const created = await registerWebAuthnCredential(optionsJSON, { timeoutMs });
    root = created.root;
    if (created.keks !== undefined) keks = created.keks;
    return {
      response: created.response,
      mode: created.mode,
      keksAtCreate: created.keks !== undefined,
      root: { rpId: created.root.rpId, credentialIdB64: toBase64Url(created.root.credentialId), publicKeyB64: toBase64Url(created.root.publicKey) },
    };
  },

  async signIn(optionsJSON: Parameters<typeof signInWithWebAuthn>[0], timeoutMs: number) {
    const s = await signInWithWebAuthn(optionsJSON, { timeoutMs });
    keks = s.keks;
    return {
      response: s.response,
      mode: s.mode,
      credentialIdB64: toBase64Url(s.credentialId),
      userHandleB64: s.userHandle === undefined ? undefined : toBase64Url(s.userHandle),
    };
  },

  /** Adopts a root (after a reload the page forgets it). */
  setRoot(r: { rpId: string; credentialIdB64: string; publicKeyB64: string }): void {
    root = { type: 'webauthn', rpId: r.rpId, credentialId: bytes(r.credentialIdB64), publicKey: bytes(r.publicKeyB64) };
  },

  async seal(purpose: PrfPurpose, account: string, dataB64: string): Promise<string> {
    return toBase64Url(await sealWithPrfKek(kek(purpose), bytes(dataB64), { account }));
  },

  async open(purpose: PrfPurpose, account: string, sealedB64: string): Promise<string> {
    return toBase64Url(await openWithPrfKek(kek(purpose), bytes(sealedB64), { account }));
  },

  /** The local cache round trip: seal under the local-cache KEK into the store's blob store. */
  async sealIntoStore(account: string, name: string, dataB64: string): Promise<string> {
    const sealed = await sealWithPrfKek(kek('local-cache'), bytes(dataB64), { account });
    const store = await BrowserKeyStore.open();
    await store.putSealed(name, sealed);
    store.close();
    return toBase64Url(sealed);
  },

  async openFromStore(account: string, name: string): Promise<string | null> {
    const store = await BrowserKeyStore.open();
    const sealed = await store.getSealed(name);
    store.close();
    if (sealed === undefined) return null;
    return toBase64Url(await openWithPrfKek(kek('local-cache'), sealed, { account }));
  },

  /** A genesis naming the registered root, signed by it through a WebAuthn assertion. */
  async signGenesis(accountId: string, time: number, timeoutMs: number): Promise<string> {
    const r = currentRoot();
    const statement = { kind: 'genesis' as const, ...genesisHeader(accountId, await keyIdOf(r.publicKey), time), roots: [r] };
    const signed = await signStatementWithWebAuthn(statement, webAuthnStatementSigner({ rpId: r.rpId, credentialId: r.credentialId, timeoutMs }));
    return toBase64Url(signed);
  },

  async assertStatement(statementB64: string, timeoutMs: number) {
    const r = currentRoot();
    const a = await assertStatement(bytes(statementB64), { rpId: r.rpId, credentialId: r.credentialId, timeoutMs });
    return {
      authenticatorDataB64: toBase64Url(a.authenticatorData),
      clientDataJSONB64: toBase64Url(a.clientDataJSON),
      signatureB64: toBase64Url(a.signature),
    };
  },
};

export type IdentityPageApi = typeof api;
(globalThis as unknown as { sigilTest: IdentityPageApi }).sigilTest = api;
