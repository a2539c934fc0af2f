// The `sigil` CLI, run as a child process (tsx on the sources) against a throwaway SoftHSM token.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSoftHsmTestToken, type SoftHsmTestToken } from '@sigil/hsm-adapter/testing';
import { formatKey, parseKey, parseKeyFile } from '../src/key-text.js';
import { progressLine } from '../src/io.js';
import { UsageError } from '../src/usage-error.js';
import { pattern } from './support.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const TSX = join(root, 'node_modules/.bin/tsx');
const MAIN = join(root, 'packages/cli/src/main.ts');

interface Result {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

let token: SoftHsmTestToken;
let dir: string;
let env: Record<string, string>;

function sigil(args: readonly string[], options: { input?: Uint8Array; env?: Record<string, string | undefined> } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    // tsconfig.test.json maps @sigil/* to their sources, so the CLI runs without a build.
    const child = spawn(TSX, ['--tsconfig', join(root, 'tsconfig.test.json'), '--conditions=development', MAIN, ...args], {
      cwd: dir,
      env: { ...env, ...options.env } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    // A CLI that fails early stops reading its stdin: the rest of our write gets EPIPE.
    child.stdin.on('error', () => {});
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.end(options.input === undefined ? undefined : Buffer.from(options.input));
  });
}

const tokenArgs = () => ['--pkcs11-module', token.module, '--token', token.label];
let alice: { recipient: string; signer: string };
let bob: { recipient: string; signer: string };

beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-cli' });
  dir = await mkdtemp(join(tmpdir(), 'sigil-cli-'));
  env = { PATH: process.env['PATH'] ?? '', HOME: dir, ...token.env, SIGIL_PKCS11_PIN: token.pin };
  for (const label of ['alice', 'bob']) {
    const r = await sigil(['keygen', ...tokenArgs(), '--label', label]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [recipient, signer] = r.stdout.toString('utf8').trim().split('\n') as [string, string];
    expect(recipient).toMatch(/^sigil-recipient-v1:[A-Za-z0-9_-]{87}$/);
    expect(signer).toMatch(/^sigil-signer-v1:[A-Za-z0-9_-]{87}$/);
    if (label === 'alice') alice = { recipient, signer };
    else bob = { recipient, signer };
    await writeFile(join(dir, `${label}.keys`), r.stdout);
  }
}, 120_000);

afterAll(async () => {
  await token?.remove();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('sigil CLI', () => {
  it('encrypts from stdin to stdout anonymously and decrypts with the token key', async () => {
    const plaintext = pattern(5000, 31);
    const e = await sigil(['encrypt', '--to', alice.recipient], { input: plaintext });
    expect(e.code).toBe(0);
    expect(e.stdout.subarray(0, 5).toString()).toBe('SIGIL');
    const d = await sigil(['decrypt', ...tokenArgs()], { input: e.stdout });
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    expect(new Uint8Array(d.stdout)).toEqual(plaintext);
  });

  it('signs with --sign-with, reads recipients from a file, writes -o, checks --expect-sender', async () => {
    const plaintext = pattern(300_000, 32);
    await writeFile(join(dir, 'in.bin'), plaintext);
    const e = await sigil(['encrypt', '--to', 'alice.keys', '--to', bob.recipient, '--sign-with', 'bob', ...tokenArgs(), '-o', 'msg.sigil', 'in.bin']);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    expect(e.stdout.length).toBe(0);
    const d = await sigil(['decrypt', ...tokenArgs(), '--key', 'alice', '--expect-sender', bob.signer, '-o', 'out.bin', 'msg.sigil']);
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    expect(new Uint8Array(await readFile(join(dir, 'out.bin')))).toEqual(plaintext);
    // Bob's own key opens it too; the signer file (keygen output) works for --expect-sender.
    const d2 = await sigil(['decrypt', ...tokenArgs(), '--key', 'bob', '--expect-sender', 'bob.keys', 'msg.sigil']);
    expect(d2.code).toBe(0);
    expect(new Uint8Array(d2.stdout)).toEqual(plaintext);
  });

  it('a failed decryption exits 1 with the code and leaves no output file', async () => {
    const plaintext = pattern(300_000, 33);
    const e = await sigil(['encrypt', '--to', alice.recipient], { input: plaintext });
    const before = (await readdir(dir)).sort();

    const wrongSender = await sigil(['decrypt', ...tokenArgs(), '--expect-sender', alice.signer, '-o', 'never.bin'], { input: e.stdout });
    expect(wrongSender.code).toBe(1);
    expect(wrongSender.stderr).toContain('E_BAD_SIGNATURE');

    const tampered = new Uint8Array(e.stdout);
    tampered[tampered.length - 64 - 1] = tampered[tampered.length - 64 - 1]! ^ 1; // the final chunk's tag, before the last segment signature
    const bad = await sigil(['decrypt', ...tokenArgs(), '-o', 'never.bin'], { input: tampered });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('E_AUTH_FAILED');

    const notMine = await sigil(['decrypt', ...tokenArgs(), '--key', 'bob', '-o', 'never.bin'], { input: e.stdout });
    expect(notMine.code).toBe(1);
    expect(notMine.stderr).toContain('E_NOT_RECIPIENT');

    const truncated = await sigil(['decrypt', ...tokenArgs(), '-o', 'never.bin'], { input: e.stdout.subarray(0, e.stdout.length - 200) });
    expect(truncated.code).toBe(1);
    expect(truncated.stderr).toMatch(/E_AUTH_FAILED|E_TRUNCATED/);

    expect((await readdir(dir)).sort()).toEqual(before); // no never.bin, no partial file
  });

  it('to stdout, a failure after some chunks has released only whole authenticated chunks', async () => {
    // Two signed segments (FORMAT.md §4.1: 16 chunks of 64 KiB each by default), the second one damaged.
    const plaintext = pattern(17 * 65536 + 1000, 34);
    const e = await sigil(['encrypt', '--to', alice.recipient], { input: plaintext });
    const tampered = new Uint8Array(e.stdout);
    tampered[tampered.length - 64 - 20] = tampered[tampered.length - 64 - 20]! ^ 1; // in the final chunk
    const d = await sigil(['decrypt', ...tokenArgs()], { input: tampered });
    expect(d.code).toBe(1);
    expect(d.stderr).toContain('E_AUTH_FAILED');
    expect(d.stdout.length % 65536).toBe(0);
    expect(d.stdout.length).toBe(16 * 65536); // the first segment, whose signature verified
    expect(new Uint8Array(d.stdout)).toEqual(plaintext.subarray(0, d.stdout.length));
  });

  it('key and PIN failures exit 1 with their code', async () => {
    const wrongPin = await sigil(['decrypt', ...tokenArgs()], { input: new Uint8Array(10), env: { SIGIL_PKCS11_PIN: '000000wrong' } });
    expect(wrongPin.code).toBe(1);
    expect(wrongPin.stderr).toContain('E_HSM_PIN');
    const offCurve = alice.recipient.slice(0, -2) + (alice.recipient.endsWith('AA') ? 'AQ' : 'AA');
    const bad = await sigil(['encrypt', '--to', offCurve], { input: new Uint8Array(1) });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('E_BAD_PUBLIC_KEY');
    const noKey = await sigil(['encrypt', '--to', alice.recipient, '--sign-with', 'nobody', ...tokenArgs()], { input: new Uint8Array(1) });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('E_KEY_NOT_FOUND');
  });

  it('usage errors exit 2; --help on every command exits 0', async () => {
    for (const command of ['keygen', 'encrypt', 'decrypt']) {
      const h = await sigil([command, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout.toString()).toContain(`Usage: sigil ${command}`);
    }
    expect((await sigil(['--help'])).code).toBe(0);
    expect((await sigil([])).code).toBe(2);
    expect((await sigil(['frobnicate'])).code).toBe(2);
    expect((await sigil(['encrypt'])).code).toBe(2); // no --to
    expect((await sigil(['encrypt', '--to', 'sigil-signer-v1:abc'])).code).toBe(2); // wrong kind, not a file
    expect((await sigil(['encrypt', '--to', alice.recipient, '--label', 'x'])).code).toBe(2); // not an encrypt option
    expect((await sigil(['decrypt', ...tokenArgs()], { env: { SIGIL_PKCS11_PIN: '' } })).code).toBe(2); // no PIN
    expect((await sigil(['keygen', ...tokenArgs()])).code).toBe(2); // no --label
    expect((await sigil(['decrypt', '--token', 'x'], { env: { SIGIL_PKCS11_MODULE: '' } })).code).toBe(2); // no module
  }, 180_000); // about a dozen CLI processes, each a tsx start: slow on a loaded machine
});

describe('CLI helpers', () => {
  it('key text round-trips and rejects other prefixes, encodings and points', () => {
    const point = parseKey('recipient', alice.recipient);
    expect(formatKey('recipient', point)).toBe(alice.recipient);
    expect(() => parseKey('signer', alice.recipient)).toThrow(UsageError);
    expect(() => parseKey('recipient', `${alice.recipient}=`)).toThrow(expect.objectContaining({ code: 'E_BAD_PUBLIC_KEY' }));
    expect(parseKeyFile('recipient', `# keys\n\n${alice.recipient}\n${alice.signer}\n${bob.recipient}\n`, 'f').length).toBe(2);
    expect(() => parseKeyFile('recipient', 'hello\n', 'f')).toThrow(UsageError);
    expect(() => parseKeyFile('recipient', `${alice.signer}\n`, 'f')).toThrow(UsageError);
  });

  it('progress lines', () => {
    expect(progressLine(0, 100, 10)).toBe('sigil: [..........]   0%  0.0 MiB');
    expect(progressLine(50 * 1048576, 100 * 1048576, 10)).toBe('sigil: [#####.....]  50%  50.0 MiB');
    expect(progressLine(3 * 1048576, undefined)).toBe('sigil: 3.0 MiB');
  });
});
