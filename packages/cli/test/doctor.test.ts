// `sigil hsm doctor` in process (run() with fake streams) against real SoftHSM tokens: a full
// token (exit 0), a token whose slot offers only EC key generation and ECDSA (SoftHSM's
// slots.mechanisms allow-list; exit 1, the missing rows named), a mechanism that is listed but
// fails in use (the kit's fault wrapper; exit 1), and nothing left on the token afterwards.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkcs11js from 'pkcs11js';
import { Pkcs11KeyBackend, SIGIL_MECHANISMS } from '@sigil/hsm-adapter';
import { createSoftHsmTestToken, injectFaults, type SoftHsmTestToken } from '@sigil/hsm-adapter/testing';
import { doctor } from '../src/doctor.js';
import { run } from '../src/index.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

const io = (env: Record<string, string> = {}) => ({ stdin: Readable.from([]), stdout: new Sink(), stderr: new Sink(), env });

let token: SoftHsmTestToken;
beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-doctor' });
});
afterAll(async () => {
  await token?.remove();
});

async function sigil(args: readonly string[], env: Record<string, string> = { SIGIL_PKCS11_PIN: token.pin }) {
  const streams = io(env);
  const code = await run(args, streams);
  return { code, stdout: streams.stdout.text, stderr: streams.stderr.text };
}
const doctorArgs = () => ['hsm', 'doctor', '--pkcs11-module', token.module, '--token', token.label];

/** Every object on the token, seen through a raw pkcs11js session (the module is not in use). */
function objectsOnToken(): number {
  const lib = new pkcs11js.PKCS11();
  lib.load(token.module);
  lib.C_Initialize();
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.label)!;
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    lib.C_Login(session, pkcs11js.CKU_USER, token.pin);
    lib.C_FindObjectsInit(session, []);
    const found = lib.C_FindObjects(session, 100);
    lib.C_FindObjectsFinal(session);
    return found.length;
  } finally {
    lib.C_Finalize();
  }
}

const row = (stdout: string, name: string) => stdout.split('\n').find((l) => l.trimStart().startsWith(name));

describe('sigil hsm doctor', () => {
  it('on SoftHSM: every capability ok, exit 0, and no key left on the token', async () => {
    const r = await sigil(doctorArgs());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Token "sigil-doctor" \(SoftHSM project, SoftHSM v2, serial [0-9a-f]+\), software slot$/m);
    // The mechanisms the token reports, Sigil's starred.
    expect(r.stdout).toMatch(/^ {2}\* CKM_ECDSA +\d+-\d+ +SIGN VERIFY/m);
    expect(r.stdout).toMatch(/^ {2}\* CKM_AES_GCM /m);
    expect(r.stdout).toMatch(/^ {4}CKM_RSA_PKCS /m);
    for (const name of ['ECDSA P-256 sign + verify', 'ECDH P-256 derive', 'AES-256-GCM wrap + unwrap']) expect(row(r.stdout, name)).toMatch(/ ok /);
    expect(r.stdout).toContain('Sigil can use this token for everything it needs.');
    expect(objectsOnToken()).toBe(0);
  });

  it('on a slot without ECDH and AES: those rows MISSING, exit 1', async () => {
    const limited = join(token.dir, 'limited.conf');
    await writeFile(limited, `directories.tokendir = ${join(token.dir, 'tokens')}\nslots.mechanisms = CKM_EC_KEY_PAIR_GEN,CKM_ECDSA\n`);
    process.env['SOFTHSM2_CONF'] = limited; // read at C_Initialize: the CLI's backend is the module's only user
    let r;
    try {
      r = await sigil(doctorArgs());
    } finally {
      process.env['SOFTHSM2_CONF'] = token.conf;
    }
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Mechanisms the token reports \(2;/);
    expect(row(r.stdout, 'ECDSA P-256 sign + verify')).toMatch(/ ok /);
    expect(row(r.stdout, 'ECDH P-256 derive')).toMatch(/ MISSING /);
    expect(row(r.stdout, 'AES-256-GCM wrap + unwrap')).toMatch(/ MISSING /);
    expect(r.stdout).toContain('not listed: CKM_AES_KEY_GEN, CKM_AES_GCM');
    expect(r.stdout).toMatch(/^Sigil cannot use this token for: decrypting .*; key backups and escrow shares/m);
    expect(objectsOnToken()).toBe(0);
  });

  it('a mechanism listed but failing in use: FAILED with its code, exit 1, its temporary key deleted all the same', async () => {
    const keys = await Pkcs11KeyBackend.open(token.location);
    try {
      const faults = injectFaults(keys);
      faults.inject({ kind: 'mechanism-unsupported', mechanism: 'CKM_AES_GCM' }, { methods: ['wrap'] });
      const streams = io();
      expect(await doctor(faults.backend, SIGIL_MECHANISMS, streams)).toBe(1);
      expect(row(streams.stdout.text, 'AES-256-GCM wrap + unwrap')).toMatch(/ FAILED /);
      expect(streams.stdout.text).toContain('E_HSM_MECHANISM (CKM_AES_GCM)');
      expect(row(streams.stdout.text, 'ECDH P-256 derive')).toMatch(/ ok /);
      expect(streams.stderr.text).toBe('');
    } finally {
      await keys.close();
    }
    expect(objectsOnToken()).toBe(0);
  });

  it('usage: a group without a verb, an unknown verb, a foreign option, no PIN (exit 2); --help (exit 0)', async () => {
    expect((await sigil(['hsm'])).code).toBe(2);
    const unknown = await sigil(['hsm', 'cure']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('sigil hsm doctor --pkcs11-module');
    expect((await sigil([...doctorArgs(), '--label', 'x'])).code).toBe(2);
    expect((await sigil(doctorArgs(), {})).code).toBe(2);
    const help = await sigil(['hsm', 'doctor', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit status: 0 when everything Sigil needs works, 1 otherwise.');
    expect((await sigil(['--help'])).stdout).toContain('hsm doctor');
  });

  it('a wrong PIN is reported with its code, exit 1', async () => {
    const r = await sigil(doctorArgs(), { SIGIL_PKCS11_PIN: 'wrong-pin' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sigil hsm doctor: E_HSM_PIN: /);
  });
});
