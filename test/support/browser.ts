// Real Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core, with a
// Chrome DevTools Protocol virtual authenticator per page (the CDP WebAuthn domain: addVirtualAuthenticator).
// Pages are served from http://localhost:PORT, a secure context where WebAuthn runs; every other
// host name resolves to nothing (--host-resolver-rules), so a test page cannot reach outside.
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** WebAuthn timeout for test ceremonies: a failure costs seconds, not minutes. */
export const TEST_WEBAUTHN_TIMEOUT_MS = 5_000;

/** Launches headless Chromium with no background traffic and no name resolution but localhost. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost',
    ],
  });
}

export interface StaticFile {
  readonly type: string;
  readonly body: string;
}

export interface TestServer {
  /** `http://localhost:PORT`: the page origin (and the WebAuthn RP ID `localhost`). */
  readonly origin: string;
  /** Every request path the server received (to show that pages only asked for what they were given). */
  readonly requests: string[];
  close(): Promise<void>;
}

/** A Node request handler for what is not a static file (e.g. the directory's API, same origin). */
export type FallbackHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves fixed files from 127.0.0.1 on a free port. Anything else goes to `fallback()`'s handler
 * when it returns one (it is asked per request, so it can be set once the origin is known), else 404.
 */
export async function serveStatic(files: Record<string, StaticFile>, fallback?: () => FallbackHandler | undefined): Promise<TestServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(path);
    const file = files[path];
    const other = file === undefined ? fallback?.() : undefined;
    if (other !== undefined) {
      other(req, res);
      return;
    }
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

/** A page that loads one bundled script and exposes it as `window.sigilTest`. */
export function testPageHtml(scriptPath: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>sigil test</title></head><body><script src="${scriptPath}"></script></body></html>`;
}

/** CDP `WebAuthn.VirtualAuthenticatorOptions` (the fields Sigil's tests use). */
export interface VirtualAuthenticatorOptions {
  readonly protocol: 'ctap2' | 'u2f';
  readonly ctap2Version?: 'ctap2_0' | 'ctap2_1';
  readonly transport: 'usb' | 'nfc' | 'ble' | 'internal';
  readonly hasResidentKey?: boolean;
  readonly hasUserVerification?: boolean;
  readonly isUserVerified?: boolean;
  readonly automaticPresenceSimulation?: boolean;
  readonly hasPrf?: boolean;
  readonly hasHmacSecret?: boolean;
  readonly defaultBackupEligibility?: boolean;
  readonly defaultBackupState?: boolean;
}

/**
 * The authenticators of the browser tests. Unknown option keys are silently ignored by Chromium
 * (a typo gives an authenticator without the feature): tests assert the mode they got.
 */
export const AUTHENTICATORS = {
  /** A platform passkey with PRF that looks synced (backup eligible and backed up). */
  passkeyWithPrf: {
    protocol: 'ctap2',
    ctap2Version: 'ctap2_1',
    transport: 'internal',
    hasResidentKey: true,
    hasUserVerification: true,
    isUserVerified: true,
    automaticPresenceSimulation: true,
    hasPrf: true,
    defaultBackupEligibility: true,
    defaultBackupState: true,
  },
  /** A USB security key with a PIN (UV) and resident keys, but neither PRF nor hmac-secret. */
  securityKeyWithoutPrf: {
    protocol: 'ctap2',
    ctap2Version: 'ctap2_1',
    transport: 'usb',
    hasResidentKey: true,
    hasUserVerification: true,
    isUserVerified: true,
    automaticPresenceSimulation: true,
  },
} as const satisfies Record<string, VirtualAuthenticatorOptions>;

export interface TestPage {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly cdp: CDPSession;
  readonly authenticatorId: string;
  /** Console messages and page errors seen so far (for asserting that nothing secret was logged). */
  readonly console: string[];
}

/**
 * A fresh context (its own storage) and tab, with one virtual authenticator (one per tab keeps
 * registration deterministic), navigated to `url`.
 */
export async function openPage(browser: Browser, url: string, authenticator: VirtualAuthenticatorOptions): Promise<TestPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: authenticator });
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
  return { context, page, cdp, authenticatorId, console: consoleLines };
}

/**
 * Makes the authenticator's next responses lie: `isBadUV` clears UV, `isBadUP` clears UP,
 * `isBogusSignature` corrupts the signature. Pass all false to restore honesty.
 */
export async function setResponseOverrideBits(
  tp: TestPage,
  bits: { isBogusSignature?: boolean; isBadUV?: boolean; isBadUP?: boolean },
): Promise<void> {
  await tp.cdp.send('WebAuthn.setResponseOverrideBits', {
    authenticatorId: tp.authenticatorId,
    isBogusSignature: bits.isBogusSignature ?? false,
    isBadUV: bits.isBadUV ?? false,
    isBadUP: bits.isBadUP ?? false,
  });
}

/** Turns the simulated touch on or off (off: every ceremony waits for its timeout). */
export async function setPresence(tp: TestPage, enabled: boolean): Promise<void> {
  await tp.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: tp.authenticatorId, enabled });
}

/** The credentials the virtual authenticator holds (public data: ids, counters). */
export async function authenticatorCredentials(tp: TestPage): Promise<{ credentialId: string; signCount: number; isResidentCredential: boolean }[]> {
  const { credentials } = await tp.cdp.send('WebAuthn.getCredentials', { authenticatorId: tp.authenticatorId });
  return credentials.map((c) => ({ credentialId: c.credentialId, signCount: c.signCount, isResidentCredential: c.isResidentCredential }));
}

/**
 * Copies every credential of `from`'s authenticator into `to`'s: the same passkey on another
 * device, as a sync would. Chromium keeps the PRF (hmac-secret) key out of the copy, so the
 * clone signs but gives no PRF output (see the recipe).
 */
export async function cloneCredentials(from: TestPage, to: TestPage): Promise<number> {
  const { credentials } = await from.cdp.send('WebAuthn.getCredentials', { authenticatorId: from.authenticatorId });
  for (const credential of credentials) {
    await to.cdp.send('WebAuthn.addCredential', { authenticatorId: to.authenticatorId, credential });
  }
  return credentials.length;
}

/**
 * Wipes everything the origin stored (IndexedDB included) and reloads the tab: the same
 * authenticator, hence the same PRF, on what is otherwise a fresh device (the recipe's way to
 * simulate a synced passkey on a new device; CDP-cloned credentials lose PRF).
 */
export async function wipeOriginAndReload(tp: TestPage, origin: string): Promise<void> {
  await tp.cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' });
  await tp.page.reload();
  await tp.page.waitForFunction(() => (globalThis as { sigilTest?: unknown }).sigilTest !== undefined);
}

/** test-output/ at the repository root: written by test runs, never committed (.gitignore). */
export const TEST_OUTPUT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../test-output');

/**
 * Writes a full-page PNG of the tab to test-output/screenshots/<name>.png, for a person to look
 * at after the run; returns its path.
 */
export async function saveScreenshot(tp: TestPage, name: string): Promise<string> {
  if (!/^[a-z0-9-]{1,64}$/.test(name)) throw new RangeError(`"name" expected 1 to 64 of [a-z0-9-], got ${JSON.stringify(name)}`);
  const dir = join(TEST_OUTPUT_DIR, 'screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await tp.page.screenshot({ path, fullPage: true });
  return path;
}

/** An error thrown in the page, with the SigilError code and detail when it was one. */
export class PageError extends Error {
  override readonly name = 'PageError';
  constructor(
    message: string,
    readonly errorName: string,
    readonly code: string | undefined,
    readonly detail: string | undefined,
  ) {
    super(message);
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; name: string; message: string; code?: string; detail?: string };

/**
 * Calls `window.sigilTest[name](...args)` in the page. Arguments and results cross as JSON
 * (bytes as base64url). A page exception becomes a PageError carrying `code` and `detail`.
 */
export async function callPage<T>(tp: TestPage, name: string, ...args: unknown[]): Promise<T> {
  const outcome = await tp.page.evaluate(
    async ([fn, fnArgs]): Promise<Outcome> => {
      const api = (globalThis as unknown as { sigilTest: Record<string, (...a: unknown[]) => Promise<unknown>> }).sigilTest;
      const f = api[fn as string];
      if (typeof f !== 'function') return { ok: false, name: 'TypeError', message: `no page function ${String(fn)}` };
      try {
        return { ok: true, value: await f(...(fnArgs as unknown[])) };
      } catch (e) {
        const err = e as { name?: unknown; message?: unknown; code?: unknown; detail?: unknown };
        return {
          ok: false,
          name: String(err.name),
          message: String(err.message),
          ...(typeof err.code === 'string' ? { code: err.code } : {}),
          ...(typeof err.detail === 'string' ? { detail: err.detail } : {}),
        };
      }
    },
    [name, args] as const,
  );
  if (outcome.ok) return outcome.value as T;
  throw new PageError(`${outcome.name}: ${outcome.message}`, outcome.name, outcome.code, outcome.detail);
}
