// The example app, end to end: examples/web-chat built by Vite (the SDK from its package build),
// served with the key directory by serve.mjs, the very entry `npm start` runs, on a free
// loopback port, and driven through its UI in real Chromium. Alice registers with a synced PRF
// passkey, Bob with a USB security key without PRF; Alice sends Bob a message and a file, Bob
// reads them in his page and replies, Alice reads the reply. Alice's wiped browser gets her keys
// back from the passkey backup; she adds a second browser (a copy of her passkey, without PRF),
// approves it (it reads her earlier messages), and revokes it: it cannot read what follows.
// The directory's database and log never hold a plaintext.
//
// The page bundles @sigil/sdk as a package consumer would, from its build (packages/sdk/dist,
// through the package's browser export conditions): `npm test` builds it first (scripts/ensure.sh);
// run `npx tsc -b` before running this file alone after changing the SDK.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { DirectoryClient } from '@sigil/sdk';
import {
  AUTHENTICATORS,
  cloneCredentials,
  launchChromium,
  saveScreenshot,
  type TestPage,
  type VirtualAuthenticatorOptions,
} from '../support/browser.js';
import { repoRoot } from '../support/page-bundle.js';
import { createSoftHsmTestToken } from '@sigil/hsm-adapter/testing';

const appDir = resolve(repoRoot, 'examples/web-chat');
const serveEntry = join(appDir, 'serve.mjs');

interface RunningApp {
  readonly child: ChildProcess;
  readonly url: string;
  readonly vkey: string;
  readonly stdout: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a command to its end; rejects with its output if it fails. */
function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done() : fail(new Error(`${command} ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

/** Vite's production build of the app into `outDir` (what `npm start` builds into dist/). */
async function buildApp(outDir: string): Promise<void> {
  await run(process.execPath, [resolve(repoRoot, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], appDir);
}

/** Starts `node examples/web-chat/serve.mjs` (npm start's entry) and waits for the URL it prints. */
function startApp(args: string[], env: Record<string, string> = {}): Promise<RunningApp> {
  const child = spawn(process.execPath, [serveEntry, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
  return new Promise((done, fail) => {
    const check = () => {
      const url = /open:\s+(http:\/\/localhost:\d+)/.exec(out)?.[1];
      const vkey = /log key:\s+(\S+)/.exec(out)?.[1];
      if (url !== undefined && vkey !== undefined) done({ child, url, vkey, stdout: () => out, exited });
    };
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      check();
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    void exited.then(({ code }) => fail(new Error(`serve.mjs exited (${code}) before printing its URL:\n${out}\n${err}`)));
  });
}

async function stopApp(app: RunningApp | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
  if (app === undefined || app.child.exitCode !== null) return undefined;
  app.child.kill(signal);
  return app.exited;
}

/** A fresh context (own storage) and tab with one virtual authenticator, on the app's page. */
async function openApp(browser: Browser, url: string, authenticator: VirtualAuthenticatorOptions): Promise<TestPage> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) consoleLines.push(`http ${r.status()}: ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: authenticator });
  await page.goto(url);
  await page.waitForSelector('#register-form');
  return { context, page, cdp, authenticatorId, console: consoleLines };
}

/**
 * Clicks `selector` and waits for the action it starts to finish. Returns the error banner's
 * code (`[data-testid=error-code]`) if the page shows one, else undefined.
 */
async function act(tp: TestPage, selector: string): Promise<string | undefined> {
  await tp.page.click(selector);
  await tp.page.waitForFunction(() => !document.body.classList.contains('busy'));
  const banner = tp.page.locator('#banner.error');
  if (await banner.isVisible()) return (await banner.locator('[data-testid=error-code]').textContent()) ?? '?';
  return undefined;
}

/** `act`, expecting success; a failure shows the page's error banner in the assertion. */
async function ok(tp: TestPage, selector: string): Promise<void> {
  const code = await act(tp, selector);
  if (code !== undefined) expect.fail(`${selector}: the page shows ${await tp.page.locator('#banner').innerText()}`);
}

async function register(tp: TestPage, account: string, name: string, device: string): Promise<void> {
  await tp.page.fill('#register-account', account);
  await tp.page.fill('#register-name', name);
  await tp.page.fill('#register-device', device);
  await ok(tp, '#register-button');
}

async function send(tp: TestPage, to: string, text: string, file?: { name: string; content: string }): Promise<void> {
  await tp.page.fill('#send-to', to);
  await tp.page.fill('#send-text', text);
  if (file !== undefined) await tp.page.setInputFiles('#send-file', { name: file.name, mimeType: 'text/plain', buffer: Buffer.from(file.content) });
  await ok(tp, '#send-button');
}

type Shown = { from: string | null; text: string | null; file: string | null };

/** The messages the page shows as received and verified. */
async function receivedMessages(tp: TestPage): Promise<Shown[]> {
  return tp.page.$$eval('[data-testid=received]', (items) =>
    items.map((li) => ({
      from: li.getAttribute('data-from'),
      text: li.querySelector('[data-testid=text]')?.textContent ?? null,
      file: li.querySelector('[data-testid=file]')?.getAttribute('download') ?? null,
    })),
  );
}

/** Clicks a received file's link as a person would, and reads what the browser downloads. */
async function downloadedText(tp: TestPage, name: string): Promise<{ suggested: string; text: string }> {
  const [download] = await Promise.all([tp.page.waitForEvent('download'), tp.page.click(`[data-testid=file][download="${name}"]`)]);
  return { suggested: download.suggestedFilename(), text: readFileSync(await download.path(), 'utf8') };
}

/** Vite's build of the app, made once for every test of this file (none of them changes it). */
let built: string;
let buildDir: string;

beforeAll(async () => {
  buildDir = mkdtempSync(join(tmpdir(), 'sigil-web-chat-build-'));
  built = join(buildDir, 'dist');
  await buildApp(built);
});

afterAll(() => {
  rmSync(buildDir, { recursive: true, force: true });
});

describe('examples/web-chat in Chromium, served by npm start\'s entry', () => {
  let workDir: string;
  let app: RunningApp | undefined;
  let browser: Browser;
  const pages: TestPage[] = [];
  /** A verifying client in Node, pinned to the log key the server printed. */
  const verifier = () => new DirectoryClient({ url: app!.url, logPublicKey: app!.vkey, webauthn: { rpId: 'localhost', origins: [app!.url] } });

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'sigil-web-chat-'));
    app = await startApp(['--port', '0', '--data-dir', join(workDir, 'data'), '--static', built]);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stopApp(app);
    rmSync(workDir, { recursive: true, force: true });
  });

  const secrets = {
    hello: 'Hello Bob: the launch moves to Thursday, tell nobody.',
    fileNote: 'The plan, attached.',
    fileContent: 'step 1: encrypt\nstep 2: there is no step 2\n',
    reply: 'Got it, Alice. Thursday it is.',
    afterRevocation: 'Written after the phone was revoked.',
  };

  it('Alice registers with a synced passkey (PRF), Bob with a USB security key (no PRF); they exchange a message, a file and a reply', async () => {
    const url = app!.url;
    const alice = await openApp(browser, url, AUTHENTICATORS.passkeyWithPrf);
    const bob = await openApp(browser, url, AUTHENTICATORS.securityKeyWithoutPrf);
    pages.push(alice, bob);
    await saveScreenshot(alice, 'web-chat-signed-out');

    await register(alice, 'alice@example.org', 'Alice', 'laptop');
    expect(await alice.page.textContent('[data-testid=account]')).toBe('alice@example.org');
    expect(await alice.page.getAttribute('[data-testid=mode]', 'data-mode')).toBe('prf');
    expect(await alice.page.getAttribute('[data-testid=backup]', 'data-backup')).toBe('current');
    expect(await alice.page.$$eval('[data-testid=device]', (ds) => ds.map((d) => d.getAttribute('data-device-name')))).toEqual(['laptop']);

    await register(bob, 'bob@example.org', 'Bob', 'desk');
    expect(await bob.page.getAttribute('[data-testid=mode]', 'data-mode')).toBe('no-prf');
    expect(await bob.page.locator('[data-testid=backup]').count()).toBe(0);

    await send(alice, 'bob@example.org', secrets.hello);
    await send(alice, 'bob@example.org', secrets.fileNote, { name: 'plan.txt', content: secrets.fileContent });
    expect(await alice.page.locator('[data-testid=sent]').count()).toBe(2);

    await ok(bob, '#refresh-button');
    expect(await receivedMessages(bob)).toEqual([
      { from: 'alice@example.org', text: secrets.hello, file: null },
      { from: 'alice@example.org', text: secrets.fileNote, file: 'plan.txt' },
    ]);
    expect(await downloadedText(bob, 'plan.txt')).toEqual({ suggested: 'plan.txt', text: secrets.fileContent });
    await saveScreenshot(bob, 'web-chat-bob');

    await send(bob, 'alice@example.org', secrets.reply);
    await ok(alice, '#refresh-button');
    expect(await receivedMessages(alice)).toEqual([{ from: 'bob@example.org', text: secrets.reply, file: null }]);
    await saveScreenshot(alice, 'web-chat');

    // No script error, and no failed request but the one expected: the SDK asks for a passkey
    // backup before the first one is written (404), and Chromium logs each failed load as an error.
    const expected404 = /^http 404: GET \/v1\/accounts\/[^/]+\/backup$/;
    for (const tp of [alice, bob]) {
      const problems = tp.console.filter(
        (l) => l.startsWith('pageerror') || (l.startsWith('http') && !expected404.test(l)) || (l.startsWith('error') && !l.startsWith('error: Failed to load resource')),
      );
      expect(problems, tp.console.join('\n')).toEqual([]);
    }
  });

  it('a taken account id is a clear error in the page, and the account is unchanged', async () => {
    const mallory = await openApp(browser, app!.url, AUTHENTICATORS.securityKeyWithoutPrf);
    try {
      await mallory.page.fill('#register-account', 'alice@example.org');
      await mallory.page.fill('#register-name', 'Not Alice');
      expect(await act(mallory, '#register-button')).toBe('E_DIRECTORY');
      expect(await mallory.page.locator('#banner').innerText()).toContain('already taken');
      expect(await mallory.page.locator('[data-testid=account]').isVisible()).toBe(false);
    } finally {
      await mallory.context.close();
    }
    const { state } = await verifier().lookup('alice@example.org');
    expect(state.devices.map((d) => d.name)).toEqual(['laptop']);
    expect(state.roots).toHaveLength(1);
  });

  it('an unknown recipient is a clear error in the page, and nothing is sent', async () => {
    const [alice] = pages;
    await alice!.page.fill('#send-to', 'nobody@example.org');
    await alice!.page.fill('#send-text', 'hello?');
    expect(await act(alice!, '#send-button')).toBe('E_UNKNOWN_ACCOUNT');
    expect(await alice!.page.locator('#banner').innerText()).toContain('no account with that id');
    expect(await alice!.page.locator('[data-testid=sent]').count()).toBe(2);
  });

  it('Alice wipes her browser and signs in with the same PRF passkey: her keys come back from the passkey backup, no other device needed', async () => {
    const [alice] = pages as [TestPage];
    // The same authenticator (same PRF) on an emptied browser: the recipe's stand-in for a synced passkey on a new device.
    await alice.cdp.send('Storage.clearDataForOrigin', { origin: app!.url, storageTypes: 'all' });
    await alice.page.reload();
    await alice.page.fill('#signin-account', 'alice@example.org');
    await alice.page.fill('#signin-device', 'new laptop');
    await ok(alice, '#signin-button');
    expect(await alice.page.locator('#banner').innerText()).toContain('restored from your passkey backup');
    expect(await alice.page.getAttribute('[data-testid=mode]', 'data-mode')).toBe('prf');
    expect((await receivedMessages(alice)).map((m) => m.text)).toEqual([secrets.reply]);
    // The old laptop's keys are gone with the wipe; the account lists both devices.
    expect(await alice.page.$$eval('[data-testid=device]', (ds) => ds.map((d) => d.getAttribute('data-device-name')))).toEqual(['laptop', 'new laptop']);
    expect(await alice.page.locator('[data-testid=unreadable]').count()).toBe(0);
  });

  it('Alice adds a second browser, approves it (it reads her earlier messages), then revokes it: it cannot read what follows', async () => {
    const [alice, bob] = pages as [TestPage, TestPage];
    const phone = await openApp(browser, app!.url, AUTHENTICATORS.passkeyWithPrf);
    pages.push(phone);
    // The same passkey on another device (a CDP copy: it signs, but Chromium keeps PRF out of it).
    expect(await cloneCredentials(alice, phone)).toBe(1);
    await phone.page.fill('#signin-account', 'alice@example.org');
    await phone.page.fill('#signin-device', 'phone');
    await ok(phone, '#signin-button');
    expect(await phone.page.locator('#banner').innerText()).toContain('Approve it on a device you already use');
    expect(await phone.page.textContent('[data-testid=account]')).toBe('alice@example.org');
    const phoneId = await phone.page.getAttribute('[data-testid=device][data-device-name=phone]', 'data-device-id');
    expect(phoneId).toMatch(/^[A-Za-z0-9_-]+$/);

    // Before approval, the phone holds no account key: Bob's earlier reply is unreadable there.
    expect(await phone.page.$$eval('[data-testid=unreadable]', (ms) => ms.map((m) => m.getAttribute('data-code')))).toEqual(['E_NOT_RECIPIENT']);

    await ok(alice, '#refresh-button');
    expect(await alice.page.textContent(`[data-testid=device][data-device-id="${phoneId}"]`)).toContain('waiting for approval');
    await ok(alice, '#approve-button');
    expect(await alice.page.locator('#approve-button').count()).toBe(0);

    // Now the phone reads the history (the new epoch is wrapped to it; older ones by walking back).
    await ok(phone, '#refresh-button');
    expect(await phone.page.locator('[data-testid=unreadable]').count()).toBe(0);
    expect(await receivedMessages(phone)).toEqual([{ from: 'bob@example.org', text: secrets.reply, file: null }]);

    await ok(alice, `[data-testid=device][data-device-id="${phoneId}"] [data-testid=revoke]`);
    expect(await alice.page.locator(`[data-testid=revoked-device][data-device-id="${phoneId}"]`).count()).toBe(1);
    const verified = await verifier().lookup('alice@example.org');
    expect(verified.state.revokedDevices.map((d) => d.id)).toEqual([phoneId]);
    expect(verified.state.devices.map((d) => d.name)).toEqual(['laptop', 'new laptop']);

    await send(bob, 'alice@example.org', secrets.afterRevocation);
    await ok(alice, '#refresh-button');
    expect((await receivedMessages(alice)).map((m) => m.text)).toEqual([secrets.reply, secrets.afterRevocation]);
    await saveScreenshot(alice, 'web-chat-devices');
    // The phone's page, still open: it is told it was revoked. Its session ended with its device
    // key (docs/DIRECTORY.md, sessions), so it cannot even fetch the new message's ciphertext.
    expect(await act(phone, '#refresh-button')).toBe('E_KEY_REVOKED');
    expect(await receivedMessages(phone)).toEqual([{ from: 'bob@example.org', text: secrets.reply, file: null }]);
    expect(await phone.page.$$eval('[data-testid=unreadable]', (ms) => ms.map((m) => m.getAttribute('data-code')))).toEqual([]);
    expect(await phone.page.locator('main').innerText()).not.toContain(secrets.afterRevocation);
    // Signing in again there is refused.
    await phone.page.reload();
    await phone.page.fill('#signin-account', 'alice@example.org');
    expect(await act(phone, '#signin-button')).toBe('E_KEY_REVOKED');
  });

  it('the directory kept no plaintext: its SQLite files and its log hold none of the messages or the file', async () => {
    const dataDir = join(workDir, 'data');
    const files = readdirSync(dataDir).filter((f) => f.startsWith('directory.db') || f === 'server.log');
    expect(files).toEqual(expect.arrayContaining(['directory.db', 'server.log']));
    const haystack = Buffer.concat(files.map((f) => readFileSync(join(dataDir, f))));
    // Positive control: the search finds what is there (account ids are public).
    expect(haystack.includes(Buffer.from('bob@example.org'))).toBe(true);
    for (const secret of Object.values(secrets)) expect(haystack.includes(Buffer.from(secret)), secret).toBe(false);
  });
});

describe("npm start's entry (examples/web-chat/serve.mjs)", () => {
  it('starts on loopback, prints the URL and the log key, serves the page with the key pinned and the directory, stops on SIGTERM or SIGINT, keeps its key', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'sigil-web-chat-start-'));
    try {
      const dataDir = join(workDir, 'data');
      const first = await startApp(['--port', '0', '--data-dir', dataDir, '--static', built]);
      let firstVkey: string;
      try {
        firstVkey = first.vkey;
        expect(first.vkey).toMatch(/^localhost\/sigil-log\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/);

        const page = await fetch(`${first.url}/`);
        expect(page.status).toBe(200);
        expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
        const html = await page.text();
        expect(html).toContain(`<meta name="sigil-log-key" content="${first.vkey}"`);
        expect(html).not.toContain('__SIGIL_LOG_KEY__');
        const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
        expect(script).toBeDefined();
        expect((await fetch(`${first.url}${script}`)).status).toBe(200);

        const health = await fetch(`${first.url}/v1/health`);
        expect(health.status).toBe(200);
        expect(await health.json()).toMatchObject({ ok: true, treeSize: 0 });
        expect((await fetch(`${first.url}/no-such-page`)).status).toBe(404);
      } finally {
        expect(await stopApp(first)).toEqual({ code: 0, signal: null });
      }
      expect(first.stdout()).toContain('stopping');
      expect(statSync(join(dataDir, 'directory.db.logkey')).mode & 0o077).toBe(0);
      expect(existsSync(join(dataDir, '.gitignore'))).toBe(true);

      // The data directory keeps the database and the log key: the same vkey after a restart.
      // Ctrl-C (SIGINT) stops it as cleanly as SIGTERM.
      const second = await startApp(['--port', '0', '--data-dir', dataDir, '--static', built]);
      try {
        expect(second.vkey).toBe(firstVkey);
      } finally {
        expect(await stopApp(second, 'SIGINT')).toEqual({ code: 0, signal: null });
      }
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('keeps the log key in a PKCS#11 token when asked (SoftHSM): the same key after a restart, and no key file', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'sigil-web-chat-hsm-'));
    const token = await createSoftHsmTestToken({ label: 'web-chat-log' });
    try {
      const dataDir = join(workDir, 'data');
      const args = ['--port', '0', '--data-dir', dataDir, '--static', built, '--pkcs11-module', token.module, '--token', token.label];
      const env = { ...token.env, SIGIL_PKCS11_PIN: token.pin };
      const first = await startApp(args, env);
      const vkey = first.vkey;
      try {
        expect(first.stdout()).toContain('on token web-chat-log');
        expect(await (await fetch(`${first.url}/`)).text()).toContain(`content="${vkey}"`);
      } finally {
        expect(await stopApp(first)).toEqual({ code: 0, signal: null });
      }
      expect(existsSync(join(dataDir, 'directory.db.logkey'))).toBe(false);
      const second = await startApp(args, env);
      try {
        expect(second.vkey).toBe(vkey);
      } finally {
        expect(await stopApp(second)).toEqual({ code: 0, signal: null });
      }
    } finally {
      await token.remove();
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('the page bundle holds no Node-only module (the SDK resolved through its browser conditions)', () => {
    const scripts = readdirSync(join(built, 'assets')).filter((f) => f.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    const code = scripts.map((f) => readFileSync(join(built, 'assets', f), 'utf8')).join('\n');
    expect(code).not.toMatch(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/);
    for (const nodeOnly of ['pkcs11js', 'better-sqlite3', 'hsm-adapter']) expect(code, nodeOnly).not.toContain(nodeOnly);
    // Positive control: the SDK's WebAuthn ceremony is in the bundle.
    expect(code).toContain('navigator.credentials');
  });

  it('refuses to start without a built page, with a message that says how to build it', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'sigil-web-chat-nobuild-'));
    try {
      const failed = await startApp(['--port', '0', '--data-dir', join(workDir, 'data'), '--static', join(workDir, 'missing')]).then(
        () => expect.fail('started without a page'),
        (e: unknown) => e as Error,
      );
      expect(failed.message).toContain('npm run build -w @sigil/example-web-chat');
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  });
});
