// Identity statements: the to-be-signed encoding (docs/STATEMENTS.md §3 and §4).
// One canonical binary encoding per statement; `decodeStatement` accepts nothing else.
import { SigilError } from '../errors.js';
import { checkP256PublicKey, P256_PUBLIC_KEY_LENGTH } from '../internal/p256.js';
import { fromHex, toHex } from '../internal/bytes.js';
import { Reader, Writer, decodeUtf8, encodeUtf8, formatError } from './wire.js';

/**
 * `"sigil-statement"` || 0x02: the first 16 bytes of every statement (§3). Version 2 added the
 * proofs of possession of device certificates and user-key epochs (§4.4, §4.6).
 */
export const STATEMENT_MAGIC: Uint8Array = Uint8Array.of(
  ...encodeUtf8('sigil-statement'),
  0x02,
);

/** Statement kinds and their wire values (§3, table "kind"). */
export const STATEMENT_KINDS = {
  genesis: 1,
  'root-add': 2,
  'device-certificate': 3,
  'device-revocation': 4,
  'user-key-epoch': 5,
} as const;

export type StatementKind = keyof typeof STATEMENT_KINDS;

/** Root types and their wire values (§4.1). */
export const ROOT_TYPES = { service: 1, webauthn: 2 } as const;

/** Limits of the encoding (§2). */
export const STATEMENT_LIMITS = {
  maxStatementBytes: 65_536,
  accountIdBytes: 128,
  rpIdBytes: 253,
  credentialIdBytes: 1023,
  deviceNameBytes: 64,
  maxGenesisRoots: 8,
  maxEpochWraps: 1024,
} as const;

const KEY_ID_BYTES = 16;
const HASH_BYTES = 32;
/** An IEEE P1363 P-256 signature, r || s (a proof of possession, §4.4, §4.6). */
const SIGNATURE_BYTES = 64;

/** A service root: a P-256 key held by a KeyBackend (a PKCS#11 token in production). */
export interface ServiceRoot {
  readonly type: 'service';
  /** Uncompressed SEC1 P-256 public key (65 bytes). */
  readonly publicKey: Uint8Array;
}

/** A WebAuthn root: an ES256 credential (passkey or security key) scoped to an RP ID. */
export interface WebAuthnRoot {
  readonly type: 'webauthn';
  /** The credential public key, uncompressed SEC1 P-256 (65 bytes); see `cosePublicKeyToRaw`. */
  readonly publicKey: Uint8Array;
  /** The RP ID the credential is scoped to, e.g. `example.org` (lowercase). */
  readonly rpId: string;
  /** The credential id (raw bytes, 1 to 1023). */
  readonly credentialId: Uint8Array;
}

export type RootCredential = ServiceRoot | WebAuthnRoot;

/** What every statement carries, whatever its kind (§3). */
export interface StatementHeader {
  /** The account this statement belongs to: 1 to 128 visible ASCII characters (0x21–0x7e). */
  readonly accountId: string;
  /** 0 for the genesis statement, then +1 per statement of the account. */
  readonly seq: number;
  /** `statementHash` of the account's previous statement; 32 zero bytes for the genesis. */
  readonly prev: Uint8Array;
  /** Milliseconds since the Unix epoch, as claimed by the signer; never decreases along the chain. */
  readonly time: number;
  /** Key id (`keyIdOf`) of the key that signs this statement: a root or a device signing key. */
  readonly signer: string;
}

/** The account begins: names its first root credential(s); signed by one of them (§4.2). */
export interface GenesisStatement extends StatementHeader {
  readonly kind: 'genesis';
  readonly roots: readonly RootCredential[];
}

/** Another root joins the account; signed by a current root (§4.3). */
export interface RootAddStatement extends StatementHeader {
  readonly kind: 'root-add';
  readonly root: RootCredential;
}

/** A root certifies a device's signing and agreement keys (§4.4). The creation time is `time`. */
export interface DeviceCertificateStatement extends StatementHeader {
  readonly kind: 'device-certificate';
  readonly device: {
    readonly signingKey: Uint8Array;
    readonly agreementKey: Uint8Array;
    /**
     * The device signing key's ECDSA P-256 signature (P1363, 64 bytes) over
     * `devicePossessionInput(accountId, signingKey, agreementKey)`: proof the device holds it.
     */
    readonly possessionSignature: Uint8Array;
    /** UTF-8, 1 to 64 bytes. */
    readonly name: string;
  };
}

/** A root revokes a device, named by the key id of its signing key (§4.5). */
export interface DeviceRevocationStatement extends StatementHeader {
  readonly kind: 'device-revocation';
  readonly deviceId: string;
}

/** The account's user key for one epoch, wrapped to each wrap's device (§4.6). */
export interface EpochWrap {
  /** Key id of the device (its signing key) that can open this wrap. */
  readonly deviceId: string;
  /** SHA-256 of the wrap blob served beside the statement (§5). */
  readonly wrapHash: Uint8Array;
}

/** A current device publishes the account's user public key for a new epoch (§4.6). */
export interface UserKeyEpochStatement extends StatementHeader {
  readonly kind: 'user-key-epoch';
  /** 1 for the first epoch, then +1. */
  readonly epoch: number;
  /** The epoch's user public key (ECDH P-256, 65 bytes). */
  readonly userPublicKey: Uint8Array;
  /**
   * The user key's own ECDSA P-256 signature (P1363, 64 bytes) over
   * `userKeyPossessionInput(accountId, epoch, userPublicKey)`: proof the publisher holds it.
   */
  readonly possessionSignature: Uint8Array;
  /**
   * SHA-256 of the blob holding the previous epoch's user private key sealed to this epoch's
   * user public key (the walk-back chain, §5). Absent exactly when `epoch` is 1.
   */
  readonly previousKeyWrapHash?: Uint8Array | undefined;
  /** One wrap per current device, in ascending order of device id bytes. */
  readonly wraps: readonly EpochWrap[];
}

export type Statement =
  | GenesisStatement
  | RootAddStatement
  | DeviceCertificateStatement
  | DeviceRevocationStatement
  | UserKeyEpochStatement;

/**
 * A statement's fields without its header, for the builders: `{ kind: 'device-certificate', device }`.
 * Distributes over the union so each kind keeps its own fields.
 */
export type StatementBody = Statement extends infer S ? (S extends Statement ? Omit<S, keyof StatementHeader> : never) : never;

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Encodes a statement to its canonical to-be-signed bytes (docs/STATEMENTS.md §3).
 *
 * @throws TypeError / RangeError if a field is out of its documented range (caller misuse).
 * @throws SigilError `E_BAD_PUBLIC_KEY` if a public key is not a valid P-256 point.
 * @example
 * ```ts
 * const tbs = encodeStatement({ kind: 'device-revocation', ...chainAfter(state, now, rootId), deviceId });
 * ```
 */
export function encodeStatement(statement: Statement): Uint8Array {
  if (typeof statement !== 'object' || statement === null) throw new TypeError('"statement" expected an object');
  const kind = STATEMENT_KINDS[statement.kind as StatementKind];
  if (kind === undefined) throw new TypeError(`"kind" expected one of ${Object.keys(STATEMENT_KINDS).join(', ')}`);
  const w = new Writer().bytes(STATEMENT_MAGIC).u8(kind);
  writeHeader(w, statement);
  switch (statement.kind) {
    case 'genesis': {
      const roots = statement.roots;
      if (!Array.isArray(roots) || roots.length < 1 || roots.length > STATEMENT_LIMITS.maxGenesisRoots) {
        throw new RangeError(`"roots" expected 1 to ${STATEMENT_LIMITS.maxGenesisRoots} roots`);
      }
      w.u8(roots.length);
      for (const r of roots) writeRoot(w, r);
      break;
    }
    case 'root-add':
      writeRoot(w, statement.root);
      break;
    case 'device-certificate': {
      const d = statement.device;
      if (typeof d !== 'object' || d === null) throw new TypeError('"device" expected an object');
      writeKey(w, 'device.signingKey', d.signingKey);
      writeKey(w, 'device.agreementKey', d.agreementKey);
      checkSignature('device.possessionSignature', d.possessionSignature);
      w.bytes(d.possessionSignature);
      const name = typeof d.name === 'string' ? encodeUtf8(d.name) : undefined;
      if (name === undefined || name.length < 1 || name.length > STATEMENT_LIMITS.deviceNameBytes) {
        throw new RangeError(`"device.name" expected 1 to ${STATEMENT_LIMITS.deviceNameBytes} bytes of UTF-8`);
      }
      if (decodeUtf8Lenient(name) !== d.name) throw new RangeError('"device.name" expected well-formed Unicode');
      w.u8(name.length).bytes(name);
      break;
    }
    case 'device-revocation':
      w.bytes(keyIdBytes('deviceId', statement.deviceId));
      break;
    case 'user-key-epoch': {
      const s = statement;
      if (!Number.isInteger(s.epoch) || s.epoch < 1 || s.epoch > 0xffffffff) {
        throw new RangeError('"epoch" expected an integer from 1 to 2^32-1');
      }
      w.u32(s.epoch);
      writeKey(w, 'userPublicKey', s.userPublicKey);
      checkSignature('possessionSignature', s.possessionSignature);
      w.bytes(s.possessionSignature);
      if (s.epoch === 1) {
        if (s.previousKeyWrapHash !== undefined) throw new RangeError('"previousKeyWrapHash" must be absent for epoch 1');
      } else {
        checkHash('previousKeyWrapHash', s.previousKeyWrapHash);
        w.bytes(s.previousKeyWrapHash);
      }
      const wraps = s.wraps;
      if (!Array.isArray(wraps) || wraps.length < 1 || wraps.length > STATEMENT_LIMITS.maxEpochWraps) {
        throw new RangeError(`"wraps" expected 1 to ${STATEMENT_LIMITS.maxEpochWraps} entries`);
      }
      w.u16(wraps.length);
      let last = '';
      for (const wrap of wraps) {
        const id = keyIdBytes('wraps[].deviceId', wrap.deviceId);
        // Lowercase hex compares like the bytes it encodes.
        if (wrap.deviceId <= last) throw new RangeError('"wraps" expected strictly ascending device ids (sort them)');
        last = wrap.deviceId;
        checkHash('wraps[].wrapHash', wrap.wrapHash);
        w.bytes(id).bytes(wrap.wrapHash);
      }
      break;
    }
  }
  const out = w.finish();
  if (out.length > STATEMENT_LIMITS.maxStatementBytes) {
    throw new RangeError(`statement expected at most ${STATEMENT_LIMITS.maxStatementBytes} bytes, got ${out.length}`);
  }
  return out;
}

function writeHeader(w: Writer, h: StatementHeader): void {
  if (typeof h.accountId !== 'string' || !isAccountId(h.accountId)) {
    throw new RangeError(`"accountId" expected 1 to ${STATEMENT_LIMITS.accountIdBytes} visible ASCII characters`);
  }
  if (!Number.isInteger(h.seq) || h.seq < 0 || h.seq > 0xffffffff) throw new RangeError('"seq" expected an integer from 0 to 2^32-1');
  checkHash('prev', h.prev);
  if (!Number.isSafeInteger(h.time) || h.time < 0) throw new RangeError('"time" expected a non-negative safe integer (ms)');
  w.u8(h.accountId.length).bytes(encodeUtf8(h.accountId)).u32(h.seq).bytes(h.prev).u64(h.time);
  w.bytes(keyIdBytes('signer', h.signer));
}

function writeRoot(w: Writer, root: RootCredential): void {
  if (typeof root !== 'object' || root === null) throw new TypeError('"root" expected an object');
  if (root.type === 'service') {
    w.u8(ROOT_TYPES.service);
    writeKey(w, 'root.publicKey', root.publicKey);
  } else if (root.type === 'webauthn') {
    w.u8(ROOT_TYPES.webauthn);
    writeKey(w, 'root.publicKey', root.publicKey);
    if (typeof root.rpId !== 'string' || !isRpId(root.rpId)) {
      throw new RangeError('"root.rpId" expected a lowercase domain name of 1 to 253 characters');
    }
    if (!(root.credentialId instanceof Uint8Array)) throw new TypeError('"root.credentialId" expected Uint8Array');
    if (root.credentialId.length < 1 || root.credentialId.length > STATEMENT_LIMITS.credentialIdBytes) {
      throw new RangeError(`"root.credentialId" expected 1 to ${STATEMENT_LIMITS.credentialIdBytes} bytes, got length=${root.credentialId.length}`);
    }
    w.u8(root.rpId.length).bytes(encodeUtf8(root.rpId)).u16(root.credentialId.length).bytes(root.credentialId);
  } else {
    throw new TypeError(`"root.type" expected 'service' or 'webauthn'`);
  }
}

function writeKey(w: Writer, name: string, key: unknown): void {
  if (!(key instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array`);
  if (key.length !== P256_PUBLIC_KEY_LENGTH) {
    throw new RangeError(`"${name}" expected Uint8Array of length ${P256_PUBLIC_KEY_LENGTH}, got length=${key.length}`);
  }
  checkP256PublicKey(key);
  w.bytes(key);
}

function checkHash(name: string, h: unknown): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array`);
  if (h.length !== HASH_BYTES) throw new RangeError(`"${name}" expected Uint8Array of length ${HASH_BYTES}, got length=${h.length}`);
}

function checkSignature(name: string, sig: unknown): asserts sig is Uint8Array {
  if (!(sig instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array`);
  if (sig.length !== SIGNATURE_BYTES) throw new RangeError(`"${name}" expected Uint8Array of length ${SIGNATURE_BYTES}, got length=${sig.length}`);
}

function keyIdBytes(name: string, id: unknown): Uint8Array {
  if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) {
    throw new TypeError(`"${name}" expected a key id: 32 lowercase hex characters`);
  }
  return fromHex(id);
}

function decodeUtf8Lenient(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/** Visible ASCII, 1 to 128 characters (§3): one byte per character, no normalisation issues. */
export function isAccountId(s: string): boolean {
  return s.length >= 1 && s.length <= STATEMENT_LIMITS.accountIdBytes && /^[\x21-\x7e]+$/.test(s);
}

/** A lowercase DNS name as WebAuthn RP IDs are (no port, no scheme, no trailing dot) (§4.1). */
export function isRpId(s: string): boolean {
  return (
    s.length >= 1 &&
    s.length <= STATEMENT_LIMITS.rpIdBytes &&
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(s)
  );
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes canonical statement bytes (§3). Rejects every other encoding: unknown magic, version or
 * kind, out-of-range lengths or values, public keys not on P-256, unsorted wraps and trailing bytes.
 *
 * Decoding is not verification: the result is unauthenticated until `applyStatement` /
 * `verifyAccountLog` has checked its signature and its place in the account's chain.
 *
 * @throws SigilError `E_FORMAT` for any encoding fault, `E_BAD_PUBLIC_KEY` for a key not on P-256.
 */
export function decodeStatement(bytes: Uint8Array): Statement {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected Uint8Array');
  if (bytes.length > STATEMENT_LIMITS.maxStatementBytes) throw formatError('statement too long');
  const r = new Reader(bytes);
  const magic = r.bytes(STATEMENT_MAGIC.length, 'magic');
  for (let i = 0; i < STATEMENT_MAGIC.length - 1; i++) {
    if (magic[i] !== STATEMENT_MAGIC[i]) throw formatError('not a statement (magic)');
  }
  if (magic[STATEMENT_MAGIC.length - 1] !== STATEMENT_MAGIC[STATEMENT_MAGIC.length - 1]) {
    throw new SigilError('E_UNSUPPORTED_VERSION', 'This statement version is not supported; update Sigil.', { detail: 'statement-version' });
  }
  const kindByte = r.u8('kind');
  const kind = (Object.keys(STATEMENT_KINDS) as StatementKind[]).find((k) => STATEMENT_KINDS[k] === kindByte);
  if (kind === undefined) throw formatError('unknown kind');
  const header = readHeader(r);
  let statement: Statement;
  switch (kind) {
    case 'genesis': {
      const n = r.u8('root count');
      if (n < 1 || n > STATEMENT_LIMITS.maxGenesisRoots) throw formatError('root count out of range');
      const roots: RootCredential[] = [];
      for (let i = 0; i < n; i++) roots.push(readRoot(r));
      statement = { kind, ...header, roots };
      break;
    }
    case 'root-add':
      statement = { kind, ...header, root: readRoot(r) };
      break;
    case 'device-certificate': {
      const signingKey = readKey(r, 'device signing key');
      const agreementKey = readKey(r, 'device agreement key');
      const possessionSignature = r.bytes(SIGNATURE_BYTES, 'device possession signature');
      const n = r.u8('device name length');
      if (n < 1 || n > STATEMENT_LIMITS.deviceNameBytes) throw formatError('device name length out of range');
      const name = decodeUtf8(r.bytes(n, 'device name'), 'device name');
      statement = { kind, ...header, device: { signingKey, agreementKey, possessionSignature, name } };
      break;
    }
    case 'device-revocation':
      statement = { kind, ...header, deviceId: toHex(r.bytes(KEY_ID_BYTES, 'device id')) };
      break;
    case 'user-key-epoch': {
      const epoch = r.u32('epoch');
      if (epoch < 1) throw formatError('epoch out of range');
      const userPublicKey = readKey(r, 'user public key');
      const possessionSignature = r.bytes(SIGNATURE_BYTES, 'user key possession signature');
      const previousKeyWrapHash = epoch === 1 ? undefined : r.bytes(HASH_BYTES, 'previous key wrap hash');
      const n = r.u16('wrap count');
      if (n < 1 || n > STATEMENT_LIMITS.maxEpochWraps) throw formatError('wrap count out of range');
      const wraps: EpochWrap[] = [];
      let last = '';
      for (let i = 0; i < n; i++) {
        const deviceId = toHex(r.bytes(KEY_ID_BYTES, 'wrap device id'));
        if (deviceId <= last) throw formatError('wraps not in strictly ascending device id order');
        last = deviceId;
        wraps.push({ deviceId, wrapHash: r.bytes(HASH_BYTES, 'wrap hash') });
      }
      statement =
        previousKeyWrapHash === undefined
          ? { kind, ...header, epoch, userPublicKey, possessionSignature, wraps }
          : { kind, ...header, epoch, userPublicKey, possessionSignature, previousKeyWrapHash, wraps };
      break;
    }
  }
  r.end('statement');
  return statement;
}

function readHeader(r: Reader): StatementHeader {
  const n = r.u8('account id length');
  if (n < 1 || n > STATEMENT_LIMITS.accountIdBytes) throw formatError('account id length out of range');
  const accountId = decodeUtf8(r.bytes(n, 'account id'), 'account id');
  if (!isAccountId(accountId)) throw formatError('account id has characters outside 0x21-0x7e');
  const seq = r.u32('seq');
  const prev = r.bytes(HASH_BYTES, 'prev');
  const time = r.u64('time');
  const signer = toHex(r.bytes(KEY_ID_BYTES, 'signer'));
  return { accountId, seq, prev, time, signer };
}

function readRoot(r: Reader): RootCredential {
  const type = r.u8('root type');
  if (type === ROOT_TYPES.service) return { type: 'service', publicKey: readKey(r, 'root public key') };
  if (type !== ROOT_TYPES.webauthn) throw formatError('unknown root type');
  const publicKey = readKey(r, 'root public key');
  const n = r.u8('rp id length');
  if (n < 1) throw formatError('rp id length out of range');
  const rpId = decodeUtf8(r.bytes(n, 'rp id'), 'rp id');
  if (!isRpId(rpId)) throw formatError('rp id is not a lowercase domain name');
  const c = r.u16('credential id length');
  if (c < 1 || c > STATEMENT_LIMITS.credentialIdBytes) throw formatError('credential id length out of range');
  return { type: 'webauthn', publicKey, rpId, credentialId: r.bytes(c, 'credential id') };
}

function readKey(r: Reader, what: string): Uint8Array {
  const key = r.bytes(P256_PUBLIC_KEY_LENGTH, what);
  checkP256PublicKey(key);
  return key;
}

/** True iff `prev` is the all-zero hash a genesis statement carries. */
export function isZeroHash(h: Uint8Array): boolean {
  return h.length === HASH_BYTES && h.every((b) => b === 0);
}

/** The `prev` of a genesis statement: 32 zero bytes (a fresh copy each call). */
export function genesisPrev(): Uint8Array {
  return new Uint8Array(HASH_BYTES);
}
