// The key index of one connection: finds EC P-256 key pairs on the token by id or label,
// judges each against Sigil's policy once, and caches the result with its object handles.
// Object handles are valid for the life of the connection only (PKCS#11 2.40 §2.4: a handle
// names an object within one application's sessions and may change after C_Finalize), which
// is why the index belongs to a connection and goes with it.
import { createHash } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import type { PKCS11 } from 'pkcs11js';
import { checkP256PublicKey } from '@sigil/sdk/backend';
import type { KeyRef, KeyUsage } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { notFound } from './checks.js';
import { decodeEcPoint, P256_EC_PARAMS } from './ec.js';
import { findObjects, isTrue, readAttributes } from './objects.js';

export interface KeyEntry {
  readonly ref: KeyRef;
  readonly privateHandle: Buffer;
  readonly publicHandle: Buffer;
  /** Why this key must not be used, or undefined when it meets Sigil's policy. */
  readonly violation: string | undefined;
  /** What the token itself says the key is for: undefined when it permits both or neither. */
  readonly tokenUsage: KeyUsage | undefined;
}

export class KeyIndex {
  readonly #lib: PKCS11;
  readonly #entries = new Map<string, KeyEntry>();
  readonly #assertPresent: () => void;

  /** `assertPresent`: throws if the token is gone, so that "no such key" is never said for it. */
  constructor(lib: PKCS11, assertPresent: () => void) {
    this.#lib = lib;
    this.#assertPresent = assertPresent;
  }

  /** Remembers a key this connection just made. */
  add(entry: KeyEntry): void {
    this.#entries.set(entry.ref.id, entry);
  }

  forget(id: string): void {
    this.#entries.delete(id);
  }

  /** Forgets every handle (they went stale, or the connection is gone). */
  clear(): void {
    this.#entries.clear();
  }

  /** The key's entry, checked for existence, policy and purpose. */
  usable(session: Buffer, id: string, usage: KeyUsage): KeyEntry {
    const entry = this.lookup(session, id);
    if (entry === undefined) throw notFound(id);
    if (entry.violation !== undefined) throw new SigilError('E_KEY_POLICY', entry.violation);
    if (entry.tokenUsage !== usage) {
      throw new SigilError('E_KEY_USAGE', `Key ${id} is a ${entry.ref.usage} key; this operation needs a ${usage} key.`);
    }
    return entry;
  }

  lookup(session: Buffer, id: string): KeyEntry | undefined {
    const cached = this.#entries.get(id);
    if (cached !== undefined) return cached;
    const idBytes = Buffer.from(id, 'hex');
    // Sigil's own keys carry CKA_ID = the key id; keys made by other tools are found by their
    // public key (a scan), whatever CKA_ID they were given.
    for (const priv of findObjects(this.#lib, session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
      { type: pkcs11js.CKA_ID, value: idBytes },
    ])) {
      const pub = this.#publicFor(session, idBytes);
      const entry = pub === undefined ? undefined : this.read(session, priv, pub, id);
      if (entry !== undefined) {
        this.#entries.set(id, entry);
        return entry;
      }
    }
    const found = this.scan(session, undefined).find((e) => e.ref.id === id);
    // A token whose files are gone finds no objects at all (reconnect.ts): ask before saying
    // the key is not there.
    if (found === undefined) this.#assertPresent();
    return found;
  }

  /** Every usable-looking P-256 key pair on the token (optionally with one label), cached. */
  scan(session: Buffer, label: string | undefined): KeyEntry[] {
    const lib = this.#lib;
    const template = [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
      ...(label === undefined ? [] : [{ type: pkcs11js.CKA_LABEL, value: label }]),
    ];
    const entries: KeyEntry[] = [];
    for (const priv of findObjects(lib, session, template)) {
      const [ckaId] = readAttributes(lib, session, priv, [pkcs11js.CKA_ID]);
      if (ckaId === undefined || ckaId.length === 0) continue;
      const pub = this.#publicFor(session, ckaId);
      if (pub === undefined) continue;
      const entry = this.read(session, priv, pub, undefined);
      if (entry === undefined) continue;
      this.#entries.set(entry.ref.id, entry);
      entries.push(entry);
    }
    if (entries.length === 0) this.#assertPresent();
    return entries;
  }

  /**
   * Reads a key pair and judges it against the policy. Returns undefined for what is not a
   * P-256 pair (another curve; a public key that is not a valid point; an id that does not
   * match the point). The policy check is done once per handle: a token lets CKA_SENSITIVE
   * only become true and CKA_EXTRACTABLE only become false (PKCS#11 2.40 §4.9), so a key
   * that passed cannot later fail.
   */
  read(session: Buffer, priv: Buffer, pub: Buffer, expectedId: string | undefined): KeyEntry | undefined {
    const lib = this.#lib;
    const [label, sensitive, extractable, canSign, canDerive, privParams] = readAttributes(lib, session, priv, [
      pkcs11js.CKA_LABEL,
      pkcs11js.CKA_SENSITIVE,
      pkcs11js.CKA_EXTRACTABLE,
      pkcs11js.CKA_SIGN,
      pkcs11js.CKA_DERIVE,
      pkcs11js.CKA_EC_PARAMS,
    ]);
    const [point, pubParams] = readAttributes(lib, session, pub, [pkcs11js.CKA_EC_POINT, pkcs11js.CKA_EC_PARAMS]);
    if (pubParams === undefined || !pubParams.equals(P256_EC_PARAMS)) return undefined;
    if (privParams !== undefined && privParams.length > 0 && !privParams.equals(P256_EC_PARAMS)) return undefined;
    let publicKey: Uint8Array;
    try {
      publicKey = decodeEcPoint(point ?? Buffer.alloc(0));
      checkP256PublicKey(publicKey);
    } catch {
      return undefined;
    }
    const id = keyIdSync(publicKey);
    if (expectedId !== undefined && id !== expectedId) return undefined;
    const sign = isTrue(canSign);
    const derive = isTrue(canDerive);
    const tokenUsage: KeyUsage | undefined = sign === derive ? undefined : sign ? 'sign' : 'agree';
    let violation: string | undefined;
    if (isTrue(extractable)) violation = `Key ${id} is extractable (CKA_EXTRACTABLE true): Sigil will not use it.`;
    else if (!isTrue(sensitive)) violation = `Key ${id} is not sensitive (CKA_SENSITIVE false): Sigil will not use it.`;
    else if (tokenUsage === undefined) {
      violation = `Key ${id} permits ${sign ? 'both signing and derivation' : 'neither signing nor derivation'}: Sigil uses one purpose per key.`;
    }
    const ref: KeyRef = Object.freeze({
      id,
      usage: tokenUsage ?? (sign ? 'sign' : 'agree'),
      label: (label ?? Buffer.alloc(0)).toString('utf8'),
      publicKey,
    });
    return { ref, privateHandle: priv, publicHandle: pub, violation, tokenUsage };
  }

  #publicFor(session: Buffer, ckaId: Buffer): Buffer | undefined {
    return findObjects(this.#lib, session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
      { type: pkcs11js.CKA_ID, value: ckaId },
    ])[0];
  }
}

/** keyIdOf without the await: the first 16 bytes of SHA-256 over the point (same definition). */
function keyIdSync(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest().subarray(0, 16).toString('hex');
}
