// `sigil hsm doctor`: what a PKCS#11 token can do for Sigil. It lists what the token reports
// (C_GetMechanismList / C_GetMechanismInfo, through Pkcs11KeyBackend.describeToken) and then
// does each thing Sigil needs with temporary keys, checking every answer against an
// independent software computation (WebCrypto): a listed mechanism can still be broken or
// refuse Sigil's parameters, and only trying it shows that. The temporary keys are deleted.
import type { MechanismDescription, Pkcs11KeyBackend, TokenDescription } from '@sigil/hsm-adapter';
import type { KeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import type { Io } from './io.js';

/** What the doctor needs of a backend (a Pkcs11KeyBackend, or a test's wrapper of one). */
export type DoctorTarget = Pick<
  Pkcs11KeyBackend,
  'describeToken' | 'generateKeyPair' | 'describeKey' | 'sign' | 'verify' | 'deriveSharedSecret' | 'deleteKey' | 'generateWrappingKey' | 'wrap' | 'unwrap' | 'deleteWrappingKey'
>;

/** One thing Sigil does with a token, the mechanisms it takes, and how to try it. */
interface Capability {
  readonly name: string;
  readonly usedFor: string;
  readonly mechanisms: readonly string[];
  readonly probe: (t: DoctorTarget, label: string, cleanup: (() => Promise<void>)[]) => Promise<void>;
}

/** The verdict on one capability. */
export interface CapabilityResult {
  readonly name: string;
  readonly usedFor: string;
  readonly mechanisms: readonly string[];
  /** `ok`; `missing`: the token does not list a mechanism (not tried); `failed`: tried, and it failed. */
  readonly status: 'ok' | 'missing' | 'failed';
  /** For `missing`, the mechanisms not listed; for `failed`, the error code and message. */
  readonly why?: string | undefined;
}

const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const text = (s: string) => new TextEncoder().encode(s);

class ProbeFailure extends Error {}
function check(ok: boolean, what: string): void {
  if (!ok) throw new ProbeFailure(what);
}

// The mechanism names are those of SIGIL_MECHANISMS in @sigil/hsm-adapter (kept there, once):
// they are read from it below, so this table only says which operations go together.
const CAPABILITIES = (m: Record<string, readonly string[]>): readonly Capability[] => [
  {
    name: 'ECDSA P-256 sign + verify',
    usedFor: 'signing statements, envelopes and log tree heads',
    mechanisms: unique([...(m['generateKeyPair'] ?? []), ...(m['sign'] ?? []), ...(m['verify'] ?? [])]),
    async probe(t, label, cleanup) {
      const key = await t.generateKeyPair({ usage: 'sign', label });
      cleanup.push(() => t.deleteKey(key));
      await keyStaysInToken(t, key);
      const message = text('sigil hsm doctor: ECDSA P-256 / SHA-256');
      const signature = await t.sign(key, message);
      check(signature.length === 64, `the signature is ${signature.length} bytes, not the 64 of r || s`);
      // WebCrypto verifies IEEE P1363 r || s over SHA-256(message): an independent check.
      const publicKey = await crypto.subtle.importKey('raw', new Uint8Array(key.publicKey), P256, false, ['verify']);
      check(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, new Uint8Array(signature), message), 'WebCrypto does not verify the token\'s signature');
      check(await t.verify(key.publicKey, message, signature), 'the token does not verify its own signature');
      check(!(await t.verify(key.publicKey, text('another message'), signature)), 'the token verifies a signature over another message');
    },
  },
  {
    name: 'ECDH P-256 derive',
    usedFor: 'decrypting (HPKE DHKEM(P-256) decapsulation, RFC 9180 §4.1)',
    mechanisms: unique([...(m['generateKeyPair'] ?? []), ...(m['deriveSharedSecret'] ?? [])]),
    async probe(t, label, cleanup) {
      const key = await t.generateKeyPair({ usage: 'agree', label });
      cleanup.push(() => t.deleteKey(key));
      await keyStaysInToken(t, key);
      const peer = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])) as CryptoKeyPair;
      const peerPublic = new Uint8Array(await crypto.subtle.exportKey('raw', peer.publicKey));
      const onToken = await t.deriveSharedSecret(key, peerPublic);
      const tokenPublic = await crypto.subtle.importKey('raw', new Uint8Array(key.publicKey), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
      const inSoftware = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: tokenPublic }, peer.privateKey, 256));
      check(onToken.length === 32 && equal(onToken, inSoftware), 'the token\'s shared secret differs from the one WebCrypto computes');
    },
  },
  {
    name: 'AES-256-GCM wrap + unwrap',
    usedFor: 'key backups and escrow shares (wrap/unwrap)',
    mechanisms: unique(m['generateWrappingKey'] ?? []),
    async probe(t, label, cleanup) {
      const key = await t.generateWrappingKey({ label });
      cleanup.push(() => t.deleteWrappingKey(key));
      const secret = crypto.getRandomValues(new Uint8Array(32));
      const aad = text('sigil hsm doctor');
      const wrapped = await t.wrap(key, secret, { aad });
      check(equal(await t.unwrap(key, wrapped, { aad }), secret), 'unwrap does not give back what was wrapped');
      const refused = await t.unwrap(key, wrapped, { aad: text('other') }).then(
        () => false,
        (e: unknown) => SigilError.is(e, 'E_AUTH_FAILED'),
      );
      check(refused, 'unwrap with other associated data was not refused with E_AUTH_FAILED');
    },
  },
];

async function keyStaysInToken(t: DoctorTarget, key: KeyRef): Promise<void> {
  const d = await t.describeKey(key);
  check(d.sensitive && !d.extractable, `the token made the key ${d.extractable ? 'extractable' : 'not sensitive'}`);
}

/**
 * Describes the token, tries each capability, prints the report on stdout and resolves to the
 * exit status: 0 when everything Sigil needs works, 1 otherwise. Deletes what it made, even
 * when a probe fails; a key it could not delete is named on stderr.
 */
export async function doctor(target: DoctorTarget, mechanismsByOperation: Record<string, readonly string[]>, io: Io): Promise<number> {
  const token = await target.describeToken();
  const listed = new Set(token.mechanisms.map((m) => m.name));
  const results: CapabilityResult[] = [];
  const capabilities = CAPABILITIES(mechanismsByOperation);
  const label = `sigil-doctor-${Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
  for (const c of capabilities) {
    const base = { name: c.name, usedFor: c.usedFor, mechanisms: c.mechanisms };
    const missing = c.mechanisms.filter((m) => !listed.has(m));
    if (missing.length > 0) {
      results.push({ ...base, status: 'missing', why: `not listed: ${missing.join(', ')}` });
      continue;
    }
    const cleanup: (() => Promise<void>)[] = [];
    try {
      await c.probe(target, label, cleanup);
      results.push({ ...base, status: 'ok' });
    } catch (e) {
      results.push({ ...base, status: 'failed', why: describeFailure(e) });
    } finally {
      for (const undo of cleanup.reverse()) {
        await undo().catch((e: unknown) => io.stderr.write(`sigil hsm doctor: could not delete a temporary key labelled "${label}": ${describeFailure(e)}\n`));
      }
    }
  }
  io.stdout.write(report(token, results, new Set(capabilities.flatMap((c) => c.mechanisms))));
  return results.every((r) => r.status === 'ok') ? 0 : 1;
}

function describeFailure(e: unknown): string {
  if (SigilError.is(e)) return `${e.code}${e.detail === undefined ? '' : ` (${e.detail})`}: ${e.message}`;
  if (e instanceof ProbeFailure) return e.message;
  return e instanceof Error ? e.message : String(e);
}

/** The printed report: the token, its mechanisms (Sigil's marked *), the table, the verdict. */
export function report(token: TokenDescription, results: readonly CapabilityResult[], used: ReadonlySet<string>): string {
  const lines: string[] = [];
  const about = [token.manufacturer, token.model, token.serialNumber === '' ? '' : `serial ${token.serialNumber}`].filter((s) => s !== '').join(', ');
  lines.push(`Token "${token.label}" (${about}), ${token.hardware ? 'hardware' : 'software'} slot`);
  lines.push('', `Mechanisms the token reports (${token.mechanisms.length}; * = Sigil uses it):`);
  for (const m of token.mechanisms) lines.push(`  ${used.has(m.name) ? '*' : ' '} ${m.name.padEnd(30)} ${sizes(m).padEnd(14)} ${m.flags.map((f) => f.replace(/^CKF_/, '')).join(' ')}`);
  const width = Math.max(...results.map((r) => r.name.length));
  lines.push('', 'What Sigil can do with this token:');
  for (const r of results) {
    lines.push(`  ${r.name.padEnd(width)}  ${r.status === 'ok' ? 'ok     ' : r.status === 'missing' ? 'MISSING' : 'FAILED '}  ${r.usedFor}`);
    lines.push(`  ${''.padEnd(width)}           needs ${r.mechanisms.join(', ')}${r.why === undefined ? '' : `; ${r.why}`}`);
  }
  const cannot = results.filter((r) => r.status !== 'ok');
  lines.push(
    '',
    cannot.length === 0
      ? 'Sigil can use this token for everything it needs.'
      : `Sigil cannot use this token for: ${cannot.map((r) => r.usedFor).join('; ')}.`,
  );
  return `${lines.join('\n')}\n`;
}

function sizes(m: MechanismDescription): string {
  return m.minKeySize === 0 && m.maxKeySize === 0 ? '' : `${m.minKeySize}-${m.maxKeySize}`;
}

function unique(names: readonly string[]): readonly string[] {
  return [...new Set(names)];
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
