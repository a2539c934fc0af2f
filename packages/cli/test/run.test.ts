// The CLI run in process (run() with a fake terminal), against a throwaway SoftHSM token:
// --version, no overwriting without --force, no binary on a terminal, a damaged header
// reported as a damaged file, keygen refusing a label in use, keys list and keys delete.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSoftHsmTestToken, type SoftHsmTestToken } from '@sigil/hsm-adapter/testing';
import { writeOutput } from '../src/io.js';
import { parseKeyFile } from '../src/key-text.js';
import { run } from '../src/index.js';
import { pattern } from './support.js';

class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    done();
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

interface Result {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

let token: SoftHsmTestToken;
let dir: string;
let env: Record<string, string>;

async function sigil(args: readonly string[], options: { input?: Uint8Array; tty?: boolean; env?: Record<string, string> } = {}): Promise<Result> {
  const stdout = new Sink(options.tty === true);
  const stderr = new Sink(options.tty === true);
  // Relative paths in args are relative to the test's directory.
  const absolute = args.map((a, i) => (args[i - 1] === '-o' || /^[\w-]+\.(bin|sigil|keys)$/.test(a) ? join(dir, a) : a));
  const code = await run(absolute, { stdin: Readable.from([Buffer.from(options.input ?? new Uint8Array(0))]), stdout, stderr, env: { ...env, ...options.env } });
  return { code, stdout: stdout.bytes(), stderr: stderr.bytes().toString('utf8') };
}

const tokenArgs = () => ['--pkcs11-module', token.module, '--token', token.label];
let carol: { recipient: string; signer: string };

beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'sigil-cli-run' });
  dir = await mkdtemp(join(tmpdir(), 'sigil-cli-run-'));
  env = { SIGIL_PKCS11_PIN: token.pin };
  const r = await sigil(['keygen', ...tokenArgs(), '--label', 'carol']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const [recipient, signer] = r.stdout.toString('utf8').trim().split('\n') as [string, string];
  carol = { recipient, signer };
}, 120_000);

afterAll(async () => {
  await token?.remove();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('sigil --version', () => {
  it('prints the version of @sigil/cli and exits 0', async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await sigil(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(`sigil ${manifest.version}\n`);
    expect(r.stdout.toString()).toMatch(/^sigil \d+\.\d+\.\d+\n$/);
  });
});

describe('output files', () => {
  it('an existing -o file is kept (exit 1, EEXIST) unless --force, for encrypt and decrypt', async () => {
    const plaintext = pattern(3000, 41);
    await writeFile(join(dir, 'taken.sigil'), 'keep me');
    const e = await sigil(['encrypt', '--to', carol.recipient, '-o', 'taken.sigil'], { input: plaintext });
    expect(e.code).toBe(1);
    expect(e.stderr).toContain('EEXIST');
    expect(await readFile(join(dir, 'taken.sigil'), 'utf8')).toBe('keep me');

    const forced = await sigil(['encrypt', '--to', carol.recipient, '-o', 'taken.sigil', '--force'], { input: plaintext });
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    const envelope = await readFile(join(dir, 'taken.sigil'));
    expect(envelope.subarray(0, 5).toString()).toBe('SIGIL');

    await writeFile(join(dir, 'taken.bin'), 'keep me too');
    const d = await sigil(['decrypt', ...tokenArgs(), '-o', 'taken.bin', 'taken.sigil']);
    expect(d.code).toBe(1);
    expect(d.stderr).toContain('EEXIST');
    expect(await readFile(join(dir, 'taken.bin'), 'utf8')).toBe('keep me too');
    const d2 = await sigil(['decrypt', ...tokenArgs(), '-f', '-o', 'taken.bin', 'taken.sigil']);
    expect(d2.code).toBe(0);
    expect(new Uint8Array(await readFile(join(dir, 'taken.bin')))).toEqual(plaintext);
    // No temporary file left beside them.
    expect((await readdir(dir)).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('the existing file is refused before any work: before the token is opened', async () => {
    const r = await sigil(['decrypt', ...tokenArgs(), '-o', 'taken.bin', 'taken.sigil'], { env: { SIGIL_PKCS11_PIN: '000000wrong' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('EEXIST');
    expect(r.stderr).not.toContain('E_HSM_PIN');
  });

  it('a file that appears at the output path while writing is kept too (EEXIST), and no temporary file remains', async () => {
    const path = join(dir, 'appears.bin');
    let pulls = 0;
    const source = new ReadableStream<Uint8Array>({
      async pull(controller) {
        pulls += 1;
        if (pulls === 1) controller.enqueue(pattern(1000, 46));
        else if (pulls === 2) await writeFile(path, 'someone else');
        else controller.close();
      },
    });
    const io = { stdin: Readable.from([]), stdout: new Sink(false), stderr: new Sink(false), env: {} };
    await expect(writeOutput(source, path, io, { force: false })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(path, 'utf8')).toBe('someone else');
    expect((await readdir(dir)).filter((f) => f.includes('appears.bin') && f.endsWith('.partial'))).toEqual([]);
  });
});

describe('terminals', () => {
  it('encrypt refuses a terminal as output (exit 2) and writes nothing to it', async () => {
    const r = await sigil(['encrypt', '--to', carol.recipient], { input: pattern(100, 42), tty: true });
    expect(r.code).toBe(2);
    expect(r.stdout.length).toBe(0);
    const toFile = await sigil(['encrypt', '--to', carol.recipient, '-o', 'tty.sigil'], { input: pattern(100, 42), tty: true });
    expect(toFile.code).toBe(0);
  });

  it('decrypt writes text to a terminal, refuses binary or control characters (exit 2), and writes them when redirected', async () => {
    const cases: [string, Uint8Array, boolean][] = [
      ['text', new TextEncoder().encode('hello, wörld\ttab\r\nline ✓\n'), true],
      ['binary', pattern(5000, 43), false],
      ['an escape sequence', new TextEncoder().encode('hello \u001b]0;owned\u0007 there\n'), false],
      ['a C1 control', new TextEncoder().encode('hello \u009b31m\n'), false],
      ['invalid UTF-8', new Uint8Array([0x68, 0x69, 0xc3, 0x28]), false],
    ];
    for (const [name, plaintext, allowed] of cases) {
      const e = await sigil(['encrypt', '--to', carol.recipient], { input: plaintext });
      expect(e.code, name).toBe(0);
      const onTerminal = await sigil(['decrypt', ...tokenArgs()], { input: e.stdout, tty: true });
      expect(onTerminal.code, name).toBe(allowed ? 0 : 2);
      expect(new Uint8Array(onTerminal.stdout), name).toEqual(allowed ? plaintext : new Uint8Array(0));
      const redirected = await sigil(['decrypt', ...tokenArgs()], { input: e.stdout, tty: false });
      expect(redirected.code, name).toBe(0);
      expect(new Uint8Array(redirected.stdout), name).toEqual(plaintext);
    }
  });

  it('a text chunk is written before a later binary chunk is refused', async () => {
    const plaintext = new Uint8Array(65536 + 10).fill(0x61); // 'a' * 64 KiB, then a NUL
    plaintext[65536 + 3] = 0;
    const e = await sigil(['encrypt', '--to', carol.recipient], { input: plaintext });
    const d = await sigil(['decrypt', ...tokenArgs()], { input: e.stdout, tty: true });
    expect(d.code).toBe(2);
    expect(new Uint8Array(d.stdout)).toEqual(plaintext.subarray(0, 65536));
  });
});

describe('damaged envelopes', () => {
  it('a damaged header is reported as a damaged file, with its code, and writes nothing', async () => {
    const e = await sigil(['encrypt', '--to', carol.recipient], { input: pattern(2000, 44) });
    const envelope = new Uint8Array(e.stdout);
    // Offsets in the v2 header (docs/FORMAT.md §3.1): the magic, the suite (bytes 6-7), the chunk
    // size (12-15, 64 KiB -> 0), and the sender's public key (42-106), which reads as "The P-256
    // public key is not a point".
    const cases: [number, string][] = [
      [0, 'E_FORMAT'],
      [6, 'E_UNSUPPORTED_VERSION'],
      [13, 'E_LIMIT'],
      [43, 'E_BAD_PUBLIC_KEY'],
    ];
    for (const [offset, code] of cases) {
      const damaged = envelope.slice();
      damaged[offset] = damaged[offset]! ^ 1;
      await writeFile(join(dir, 'damaged.sigil'), damaged);
      const fromFile = await sigil(['decrypt', ...tokenArgs(), '-o', 'never.bin', 'damaged.sigil']);
      expect(fromFile.code, `offset ${offset}`).toBe(1);
      expect(fromFile.stderr, `offset ${offset}`).toMatch(new RegExp(`^sigil decrypt: ${code}: \\S*damaged\\.sigil is damaged, `));
      const fromStdin = await sigil(['decrypt', ...tokenArgs()], { input: damaged });
      expect(fromStdin.code, `offset ${offset}`).toBe(1);
      expect(fromStdin.stderr, `offset ${offset}`).toMatch(new RegExp(`^sigil decrypt: ${code}: stdin is damaged, `));
      expect(fromStdin.stdout.length).toBe(0);
    }
    expect((await readdir(dir)).filter((f) => f.startsWith('never.bin') || f.endsWith('.partial'))).toEqual([]);
  });

  it('a bad --expect-sender key is still the key, not the file', async () => {
    const offCurve = carol.signer.slice(0, -2) + (carol.signer.endsWith('AA') ? 'AQ' : 'AA');
    const r = await sigil(['decrypt', ...tokenArgs(), '--expect-sender', offCurve], { input: new Uint8Array(10) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sigil decrypt: E_BAD_PUBLIC_KEY: /);
    expect(r.stderr).not.toContain('damaged');
  });
});

describe('keys', () => {
  it('keygen refuses a label already on the token (exit 1, EEXIST) and makes no key', async () => {
    const before = await sigil(['keys', 'list', ...tokenArgs()]);
    const again = await sigil(['keygen', ...tokenArgs(), '--label', 'carol']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('EEXIST');
    expect(again.stdout.length).toBe(0);
    const after = await sigil(['keys', 'list', ...tokenArgs()]);
    expect(after.stdout.toString()).toBe(before.stdout.toString());
  });

  it('keys list prints each key after a comment, as a keys file; --label filters', async () => {
    const dave = await sigil(['keygen', ...tokenArgs(), '--label', 'dave']);
    expect(dave.code).toBe(0);
    const [daveRecipient, daveSigner] = dave.stdout.toString().trim().split('\n') as [string, string];
    const all = await sigil(['keys', 'list', ...tokenArgs()]);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    const lines = all.stdout.toString().trim().split('\n');
    expect(lines.length).toBe(8);
    expect(lines.filter((_, i) => i % 2 === 1)).toEqual([carol.recipient, carol.signer, daveRecipient, daveSigner]);
    expect(lines[0]).toMatch(/^# "carol" agree [0-9a-f]{32}$/);
    expect(lines[2]).toMatch(/^# "carol" sign [0-9a-f]{32}$/);
    expect(lines[4]).toMatch(/^# "dave" agree [0-9a-f]{32}$/);
    // The listing works as a keys file for --to and --expect-sender.
    expect(parseKeyFile('recipient', all.stdout.toString(), 'listing').length).toBe(2);
    expect(parseKeyFile('signer', all.stdout.toString(), 'listing').length).toBe(2);

    const onlyDave = await sigil(['keys', 'list', ...tokenArgs(), '--label', 'dave']);
    expect(onlyDave.stdout.toString().trim().split('\n').filter((l) => !l.startsWith('#'))).toEqual([daveRecipient, daveSigner]);
    const nobody = await sigil(['keys', 'list', ...tokenArgs(), '--label', 'nobody']);
    expect(nobody.code).toBe(0);
    expect(nobody.stdout.length).toBe(0);
  });

  it('keys delete destroys both keys of a label, prints them, and the label is free again', async () => {
    const eve = await sigil(['keygen', ...tokenArgs(), '--label', 'eve']);
    const [eveRecipient, eveSigner] = eve.stdout.toString().trim().split('\n') as [string, string];
    const e = await sigil(['encrypt', '--to', eveRecipient], { input: pattern(100, 45) });

    const deleted = await sigil(['keys', 'delete', ...tokenArgs(), '--label', 'eve']);
    expect(deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout.toString().trim().split('\n').filter((l) => !l.startsWith('#'))).toEqual([eveRecipient, eveSigner]);
    expect((await sigil(['keys', 'list', ...tokenArgs(), '--label', 'eve'])).stdout.length).toBe(0);
    // Other labels are untouched; what was made to eve no longer opens.
    expect((await sigil(['keys', 'list', ...tokenArgs(), '--label', 'carol'])).stdout.toString()).toContain(carol.recipient);
    const d = await sigil(['decrypt', ...tokenArgs()], { input: e.stdout });
    expect(d.code).toBe(1);
    expect(d.stderr).toContain('E_NOT_RECIPIENT');

    const again = await sigil(['keys', 'delete', ...tokenArgs(), '--label', 'eve']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('E_KEY_NOT_FOUND');
    expect((await sigil(['keygen', ...tokenArgs(), '--label', 'eve'])).code).toBe(0);
  });

  it('keys usage: subcommands, --help, and what each takes', async () => {
    expect((await sigil(['keys'])).code).toBe(2);
    expect((await sigil(['keys', 'frobnicate'])).code).toBe(2);
    const help = await sigil(['keys', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toContain('sigil keys list');
    for (const verb of ['list', 'delete']) {
      const h = await sigil(['keys', verb, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout.toString()).toContain(`Usage: sigil keys ${verb}`);
    }
    expect((await sigil(['keys', 'delete', ...tokenArgs()])).code).toBe(2); // no --label
    expect((await sigil(['keys', 'list', ...tokenArgs(), '--to', carol.recipient])).code).toBe(2); // not a keys option
    expect((await sigil(['keys', 'list', ...tokenArgs(), 'extra'])).code).toBe(2);
    expect((await sigil(['constructor'])).code).toBe(2); // not a command, though a property of every object
    expect((await sigil(['keys list'])).code).toBe(2);
  });
});
