// The log's signing key: in a PKCS#11 token (through @sigil/hsm-adapter), or by default a
// software key file beside the database. The file is PKCS#8 PEM, created with mode 0600 on
// first start and loaded as a non-extractable WebCrypto key; it is a development default, and
// the server says so in its log (docs/DIRECTORY.md, "The log key").
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { WebCryptoKeyBackend } from '@sigil/sdk/backend';
import type { Logger } from '../http/logger.js';
import type { LogSigner } from '../log/transparency-log.js';
import { loadHsmAdapter } from './hsm-adapter.js';

export interface LoadedLogKey {
  readonly signer: LogSigner;
  /** Releases the token session (PKCS#11); a no-op for the software key. */
  close(): Promise<void>;
}

const LABEL = 'sigil-log';

/**
 * Loads the software log key from `file`, creating it (mode 0600, exclusive create) if absent.
 *
 * @throws Error if the file exists but is not a P-256 PKCS#8 private key.
 */
export async function loadSoftwareLogKey(file: string, logger: Logger): Promise<LoadedLogKey> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw e;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    // 'wx': never overwrite a key another process created in the meantime.
    await writeFile(file, pem, { mode: 0o600, flag: 'wx' }).catch(async (err: unknown) => {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
      pem = await readFile(file, 'utf8');
    });
    logger.log('warn', 'created a software log key', { file, mode: '0600' });
  }
  const mode = (await stat(file)).mode & 0o777;
  if ((mode & 0o077) !== 0) logger.log('warn', 'the log key file is readable by other users: chmod 600 it', { file, mode: mode.toString(8) });
  logger.log('warn', 'the log key is a software key file: use --pkcs11-module for a key that never leaves a token', { file });

  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${file} is not a P-256 private key`);
  }
  const subtle = globalThis.crypto.subtle;
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const privateKey = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  der.fill(0);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const publicKey = await subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
  const backend = new WebCryptoKeyBackend();
  const ref = await backend.adoptKeyPair({ privateKey, publicKey, usage: 'sign', label: LABEL });
  return { signer: { backend, key: ref }, close: async () => {} };
}

/** The environment variable that may carry the token's user PIN. */
export const PIN_ENV = 'SIGIL_PKCS11_PIN';

/**
 * The token PIN from `env` (by default this process's environment), removed from it as it is
 * read, so that no child process inherits it and nothing later in the process finds it there.
 * The kernel's copy of the environment the process started with (/proc/PID/environ, readable by
 * the same user and root) keeps it: `--pin-file` keeps the PIN out of the environment entirely.
 * `undefined` if absent or empty.
 */
export function takePinFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const pin = env[PIN_ENV];
  delete env[PIN_ENV];
  return pin === undefined || pin === '' ? undefined : pin;
}

/**
 * The token PIN from the first line of `file` (a trailing newline is not part of it).
 * @throws Error if the file cannot be read or its first line is empty.
 */
export async function readPinFile(file: string): Promise<string> {
  const pin = (await readFile(file, 'utf8')).split(/\r?\n/, 1)[0] ?? '';
  if (pin === '') throw new Error(`${file} holds no PIN on its first line`);
  return pin;
}

export interface Pkcs11LogKeyOptions {
  readonly module: string;
  readonly token: string;
  readonly pin: string;
  /** CKA_LABEL of the log key; generated on the token when no key has it. */
  readonly label: string;
}

/**
 * Opens the log key in a PKCS#11 token, generating it (non-extractable, sensitive) on first use.
 *
 * @throws SigilError `E_HSM_UNAVAILABLE` if @sigil/hsm-adapter is not installed (an optional peer);
 *   `E_HSM*` from the token; Error if several signing keys carry the label.
 */
export async function openPkcs11LogKey(options: Pkcs11LogKeyOptions, logger: Logger): Promise<LoadedLogKey> {
  const { Pkcs11KeyBackend } = await loadHsmAdapter();
  const backend = await Pkcs11KeyBackend.open({ module: options.module, token: options.token, pin: options.pin });
  try {
    const keys = await backend.listKeys({ label: options.label, usage: 'sign' });
    if (keys.length > 1) throw new Error(`the token holds ${keys.length} signing keys labelled ${options.label}: keep one`);
    let key = keys[0];
    if (key === undefined) {
      key = await backend.generateKeyPair({ usage: 'sign', label: options.label });
      logger.log('warn', 'generated the log key on the token', { token: options.token, label: options.label, keyId: key.id });
    }
    return { signer: { backend, key }, close: () => backend.close() };
  } catch (e) {
    await backend.close();
    throw e;
  }
}
