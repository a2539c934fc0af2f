// Interop with a PKCS#11 client Sigil did not write: OpenSC's pkcs11-tool sees Sigil's keys as
// sensitive and never extractable, and Sigil uses (or refuses) keys that pkcs11-tool made.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { verify as nodeVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk/errors';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { spkiFromRaw } from './support/spki.js';
import { createSoftHsmTestToken, type SoftHsmTestToken } from './support/softhsm.js';

const run = promisify(execFile);
const text = (s: string) => new TextEncoder().encode(s);

let token: SoftHsmTestToken;
let keys: Pkcs11KeyBackend;

beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-interop' });
  keys = await Pkcs11KeyBackend.open(token.location);
});
afterAll(async () => {
  await keys?.close();
  await token?.remove();
});

/** Runs pkcs11-tool against the test token, logged in. */
async function pkcs11Tool(...args: string[]): Promise<string> {
  const { stdout } = await run(
    'pkcs11-tool',
    ['--module', token.module, '--token-label', token.label, '--login', '--pin', token.pin, ...args],
    { env: { ...process.env, ...token.env } },
  );
  return stdout;
}

/** pkcs11-tool's --list-objects output, split into one block per object. */
function objects(listing: string): { kind: string; fields: Record<string, string> }[] {
  return listing
    .split(/\n(?=\S)/)
    .filter((block) => block.trim().length > 0)
    .map((block) => {
      const [head, ...lines] = block.split('\n');
      const fields: Record<string, string> = {};
      for (const line of lines) {
        const m = /^\s+([^:]+):\s*(.*)$/.exec(line);
        if (m) fields[m[1]!.trim()] = m[2]!.trim();
      }
      return { kind: head!.trim(), fields };
    });
}

describe('OpenSC pkcs11-tool and Sigil', () => {
  it('pkcs11-tool lists a Sigil key with its label, id and flags', async () => {
    const signer = await keys.generateKeyPair({ usage: 'sign', label: 'sigil-signer' });
    const agreer = await keys.generateKeyPair({ usage: 'agree', label: 'sigil-agreer' });
    const listed = objects(await pkcs11Tool('--list-objects'));
    for (const [ref, usage] of [
      [signer, 'sign'],
      [agreer, 'derive'],
    ] as const) {
      const priv = listed.find((o) => o.kind.startsWith('Private Key Object; EC') && o.fields['ID'] === ref.id);
      expect(priv?.fields['label']).toBe(ref.label);
      expect(priv?.fields['Usage']).toBe(usage);
      expect(priv?.fields['Access']?.split(', ')).toEqual(expect.arrayContaining(['sensitive', 'always sensitive', 'never extractable', 'local']));
      expect(priv?.fields['Access']?.split(', ')).not.toContain('extractable');
      const pub = listed.find((o) => o.kind.startsWith('Public Key Object; EC') && o.fields['ID'] === ref.id);
      expect(pub?.fields['label']).toBe(ref.label);
    }
  });

  it('a Sigil signature verifies with node:crypto and with pkcs11-tool', async () => {
    const ref = await keys.generateKeyPair({ usage: 'sign', label: 'sigil-verify' });
    const data = text('signed by Sigil on a PKCS#11 token');
    const sig = await keys.sign(ref, data);
    expect(nodeVerify('sha256', data, { key: spkiFromRaw(ref.publicKey), dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    // pkcs11-tool verifies with CKM_ECDSA over the SHA-256 digest on the token: the same raw
    // r || s form Sigil produced.
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { createHash } = await import('node:crypto');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(token.dir, 'verify-'));
    await writeFile(join(dir, 'digest'), createHash('sha256').update(data).digest());
    await writeFile(join(dir, 'sig'), sig);
    const out = await pkcs11Tool(
      '--verify',
      '--mechanism',
      'ECDSA',
      '--id',
      ref.id,
      '--input-file',
      join(dir, 'digest'),
      '--signature-file',
      join(dir, 'sig'),
    );
    expect(out).toContain('Signature is valid');
  });

  it('uses an EC P-256 key made by pkcs11-tool --keypairgen (sensitive, never extractable by default)', async () => {
    await pkcs11Tool('--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'tool-made', '--id', '0a0b', '--usage-sign');
    const [ref] = await keys.listKeys({ label: 'tool-made' });
    expect(ref).toBeDefined();
    expect(ref!.usage).toBe('sign');
    expect(await keys.getKey(ref!.id)).toEqual(ref);
    expect(await keys.describeKey(ref!)).toEqual({ extractable: false, sensitive: true, hardware: false });
    const sig = await keys.sign(ref!, text('tool-made key'));
    expect(nodeVerify('sha256', text('tool-made key'), { key: spkiFromRaw(ref!.publicKey), dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
  });

  it('refuses a pkcs11-tool --usage-derive key, which SoftHSM also leaves able to sign (one purpose per key)', async () => {
    // pkcs11-tool adds CKA_DERIVE but SoftHSM's default CKA_SIGN stays true: a dual-use key.
    await pkcs11Tool('--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'tool-derive', '--id', '0c0d', '--usage-derive');
    const listed = objects(await pkcs11Tool('--list-objects', '--type', 'privkey')).find((o) => o.fields['label'] === 'tool-derive');
    expect(listed?.fields['Usage']?.split(', ')).toEqual(expect.arrayContaining(['sign', 'derive']));
    const [ref] = await keys.listKeys({ label: 'tool-derive' });
    expect(ref).toBeDefined();
    const mine = await keys.generateKeyPair({ usage: 'agree', label: 'sigil-peer' });
    await expect(keys.deriveSharedSecret(ref!, mine.publicKey)).rejects.toSatisfy((e) => SigilError.is(e, 'E_KEY_POLICY'));
    await expect(keys.sign(ref!, text('x'))).rejects.toSatisfy((e) => SigilError.is(e, 'E_KEY_POLICY'));
  });

  it('refuses a pkcs11-tool key made --extractable with E_KEY_POLICY', async () => {
    await pkcs11Tool('--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'tool-extractable', '--id', '0e0f', '--usage-sign', '--extractable');
    const [ref] = await keys.listKeys({ label: 'tool-extractable' });
    expect(ref).toBeDefined();
    expect((await keys.describeKey(ref!)).extractable).toBe(true);
    const e = await keys.sign(ref!, text('must not sign')).catch((x: unknown) => x);
    expect(SigilError.is(e, 'E_KEY_POLICY')).toBe(true);
  });
});
