// The real `sigil-server` bin on a loopback port: starts, prints the log key, serves the API over
// HTTP, keeps its software log key in a 0600 file beside the database (the same key after a
// restart), or on a SoftHSM token with --pkcs11-module; stops cleanly on SIGTERM and SIGINT.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WebCryptoKeyBackend } from '@sigil/sdk';
import { openCheckpoint, parseLogVerifierKey, verifyLeafInCheckpoint } from '@sigil/sdk/transparency';
import { createSoftHsmTestToken } from '@sigil/hsm-adapter/testing';
import { b64u, signServiceGenesis, splitPath, unb64u } from './directory-fixture.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const main = path.join(repoRoot, 'packages/server/src/cli/main.ts');
const tmp = mkdtempSync(path.join(tmpdir(), 'sigil-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Running {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  readonly vkey: string;
  readonly stdout: () => string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []) {
  // tsx as a loader in this one process, so signals reach the server itself; tsconfig.test.json
  // maps @sigil/* to the sources.
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, main, ...args], {
    cwd: repoRoot,
    env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.test.json', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exit, stdout: () => stdout, stderr: () => stderr };
}

async function start(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const r = run(['serve', '--port', '0', ...args], env);
  const ready = await new Promise<{ url: string; vkey: string }>((resolve, reject) => {
    const check = () => {
      const url = /listening on (http:\/\/\S+)/.exec(r.stderr())?.[1];
      const vkey = /log key \(pin it in clients\): (\S+)/.exec(r.stderr())?.[1];
      if (url !== undefined && vkey !== undefined) resolve({ url, vkey });
    };
    r.child.stderr.on('data', check);
    void r.exit.then(({ code }) => reject(new Error(`sigil-server exited with ${code}: ${r.stderr()}`)));
  });
  return { child: r.child, exit: r.exit, stdout: r.stdout, ...ready };
}

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

describe('sigil-server', () => {
  it('--help prints the usage and exits 0; a bad command or option exits 2', async () => {
    const help = run(['--help']);
    expect((await help.exit).code).toBe(0);
    expect(help.stdout()).toContain('sigil-server serve');
    expect(help.stdout()).toContain('SIGIL_PKCS11_PIN');
    for (const bad of [['launch'], ['serve', '--port', 'x'], ['serve', '--no-such-option'], ['serve', '--token', 't']]) {
      const r = run(bad);
      expect((await r.exit).code, bad.join(' ')).toBe(2);
    }
  });

  it('serves the directory on loopback with a software log key file (0600), reused after a restart; stops on SIGTERM', async () => {
    const db = path.join(tmp, 'soft.db');
    const first = await start(['--db', db]);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(`${db}.logkey`).mode & 0o777).toBe(0o600);
    const logLines = first.stdout().trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; vkey?: string });
    expect(logLines.some((l) => l.level === 'warn' && l.msg.includes('software log key'))).toBe(true);
    expect(logLines.find((l) => l.msg === 'log key')?.vkey).toBe(first.vkey);

    // A service account over real HTTP, its statement proven under a checkpoint signed by the printed key.
    const backend = new WebCryptoKeyBackend();
    const root = await backend.generateKeyPair({ usage: 'sign', label: 'root' });
    const genesis = await signServiceGenesis('svc@example.com', backend, root);
    const posted = await json(`${first.url}/v1/statements`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ statementB64: b64u(genesis) }),
    });
    expect(posted.status).toBe(200);
    const account = await json(`${first.url}/v1/accounts/${encodeURIComponent('svc@example.com')}`);
    const cp = await openCheckpoint(account.body.checkpoint, await parseLogVerifierKey(first.vkey));
    const [s] = account.body.statements;
    await verifyLeafInCheckpoint(cp, s.leafIndex, unb64u(s.statementB64), splitPath(unb64u(s.inclusionB64)));
    expect((await json(`${first.url}/v1/log/key`)).body.vkey).toBe(first.vkey);

    first.child.kill('SIGTERM');
    expect(await first.exit).toEqual({ code: 0, signal: null });
    expect(first.stdout()).toContain('"msg":"stopped"');

    const second = await start(['--db', db]);
    expect(second.vkey).toBe(first.vkey);
    expect((await json(`${second.url}/v1/health`)).body).toEqual({ ok: true, treeSize: 1 });
    second.child.kill('SIGINT');
    expect((await second.exit).code).toBe(0);
  });

  it('keeps the log key on a PKCS#11 token: generated on first start, the same key on the next', async () => {
    const token = await createSoftHsmTestToken({ label: 'sigil-cli' });
    try {
      const args = ['--db', path.join(tmp, 'hsm.db'), '--pkcs11-module', token.module, '--token', token.label, '--key-label', 'log', '--log-origin', 'sigil.test/log'];
      const env = { ...token.env, SIGIL_PKCS11_PIN: token.pin };
      const missingPin = run(['serve', ...args], { ...token.env, SIGIL_PKCS11_PIN: '' });
      expect((await missingPin.exit).code).toBe(2);
      const first = await start(args, env);
      expect(first.vkey.startsWith('sigil.test/log+')).toBe(true);
      expect(first.stdout()).toContain('generated the log key on the token');
      expect(statSync(path.join(tmp, 'hsm.db.logkey'), { throwIfNoEntry: false })).toBeUndefined();
      const note = (await json(`${first.url}/v1/log/checkpoint`)).body.note as string;
      expect((await openCheckpoint(note, await parseLogVerifierKey(first.vkey))).size).toBe(0);
      first.child.kill('SIGTERM');
      expect((await first.exit).code).toBe(0);
      const second = await start(args, env);
      expect(second.vkey).toBe(first.vkey);
      expect(second.stdout()).not.toContain('generated the log key');
      second.child.kill('SIGTERM');
      expect(await second.exit, second.stdout()).toEqual({ code: 0, signal: null });
      // The PIN from a file, with none in the environment.
      const pinFile = path.join(tmp, 'token.pin');
      writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
      const fromFile = await start([...args, '--pin-file', pinFile], token.env);
      expect(fromFile.vkey).toBe(first.vkey);
      fromFile.child.kill('SIGTERM');
      expect((await fromFile.exit).code).toBe(0);
      const wrongPin = run(['serve', '--port', '0', ...args], { ...token.env, SIGIL_PKCS11_PIN: 'wrong-pin' });
      expect((await wrongPin.exit).code).toBe(1);
    } finally {
      await token.remove();
    }
  });

  it('starts without @sigil/hsm-adapter installed on a software key; with a token configured it stops with E_HSM_UNAVAILABLE, not installed or not loading', async () => {
    const withoutAdapter = ['--import', path.join(here, 'support/without-hsm-adapter.mjs')];
    const soft = run(['serve', '--port', '0', '--db', path.join(tmp, 'no-adapter.db')], {}, withoutAdapter);
    await new Promise<void>((resolve, reject) => {
      soft.child.stderr.on('data', () => {
        if (soft.stderr().includes('listening on')) resolve();
      });
      void soft.exit.then(({ code }) => reject(new Error(`sigil-server exited with ${code}: ${soft.stderr()}`)));
    });
    soft.child.kill('SIGTERM');
    expect((await soft.exit).code).toBe(0);

    const args = ['serve', '--port', '0', '--db', path.join(tmp, 'no-adapter-hsm.db'), '--pkcs11-module', '/nonexistent/libpkcs11.so', '--token', 't'];
    const hsm = run(args, { SIGIL_PKCS11_PIN: '1234' }, withoutAdapter);
    expect((await hsm.exit).code).toBe(1);
    expect(hsm.stderr()).toMatch(/\(E_HSM_UNAVAILABLE\)\n$/);
    expect(hsm.stderr()).toContain('@sigil/hsm-adapter is not installed');

    // Installed, but one of its own imports is missing: told apart from "not installed".
    const broken = run(args, { SIGIL_PKCS11_PIN: '1234', SIGIL_TEST_HSM_ADAPTER: 'broken' }, withoutAdapter);
    expect((await broken.exit).code).toBe(1);
    expect(broken.stderr()).toMatch(/\(E_HSM_UNAVAILABLE\)\n$/);
    expect(broken.stderr()).toContain('@sigil/hsm-adapter is installed but failed to load');
  });
});
