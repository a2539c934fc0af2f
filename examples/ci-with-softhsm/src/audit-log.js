// @ts-check
// A tiny app: an audit log whose entries are signed by a key in a PKCS#11 token (ECDSA P-256,
// through @sigil/hsm-adapter), and checked by anyone with the public key (WebCrypto). When the
// token is unavailable, entries wait in a queue and are signed once it is back, instead of
// being lost or failing the request that made them.
import { SigilError } from '@sigil/sdk/errors';

/** @typedef {import('@sigil/sdk/backend').KeyBackend} KeyBackend */
/** @typedef {import('@sigil/sdk/backend').KeyRef} KeyRef */
/** @typedef {{ readonly entry: string, readonly signature: Uint8Array }} SignedEntry */

const encoder = new TextEncoder();

/**
 * The audit log of one signing key.
 * @param {KeyBackend} keys a backend holding the key (Pkcs11KeyBackend in production)
 * @param {KeyRef} key the signing key (usage 'sign')
 */
export function openAuditLog(keys, key) {
  /** @type {SignedEntry[]} */
  const signed = [];
  /** @type {string[]} */
  const queued = [];

  /** @param {string} entry */
  async function signOne(entry) {
    signed.push({ entry, signature: await keys.sign(key, encoder.encode(entry)) });
  }

  return {
    /**
     * Signs and appends `entry`; while the token is unavailable (E_HSM_UNAVAILABLE), queues it.
     * Any other failure (a wrong PIN, a missing mechanism) is a configuration error: thrown.
     * @param {string} entry
     * @returns {Promise<'signed' | 'queued'>}
     */
    async append(entry) {
      try {
        await this.flush();
        if (queued.length > 0) throw new SigilError('E_HSM_UNAVAILABLE', 'still unavailable');
        await signOne(entry);
        return 'signed';
      } catch (e) {
        if (!SigilError.is(e, 'E_HSM_UNAVAILABLE')) throw e;
        queued.push(entry);
        return 'queued';
      }
    },
    /** Signs the queued entries, oldest first; stops at the first that fails. */
    async flush() {
      while (queued.length > 0) {
        await signOne(/** @type {string} */ (queued[0]));
        queued.shift();
      }
    },
    /** @returns {readonly SignedEntry[]} */
    entries: () => [...signed],
    /** @returns {number} */
    pending: () => queued.length,
  };
}

/**
 * Whether `signed` was signed by the key whose public key is `publicKey` (WebCrypto ECDSA
 * P-256 / SHA-256; Sigil's signatures are IEEE P1363 r || s, as WebCrypto's).
 * @param {Uint8Array} publicKey uncompressed SEC1 P-256 point
 * @param {SignedEntry} signed
 */
export async function verifyEntry(publicKey, signed) {
  const key = await crypto.subtle.importKey('raw', new Uint8Array(publicKey), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, new Uint8Array(signed.signature), encoder.encode(signed.entry));
}
