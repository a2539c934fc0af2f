// Real Chromium in front of the real directory: @sigil/server (SQLite file, software log key) in
// this process, served on the SAME origin as the bundled test pages (http://localhost:PORT, the
// WebAuthn RP ID `localhost`), so pages reach the API without CORS. Every request body, every
// answer and every log line is kept, for the searches that prove what the server never saw.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { DirectoryClient, WebCryptoKeyBackend } from '@sigil/sdk';
import { SqliteStore, TransparencyLog, createDirectoryApp, memoryLogger, type DirectoryConfig } from '@sigil/server';
import type { Browser } from 'playwright-core';
import { launchChromium, serveStatic, testPageHtml, type FallbackHandler, type StaticFile, type TestServer } from '../support/browser.js';
import { bundlePage } from '../support/page-bundle.js';

export interface BrowserDirectory {
  readonly browser: Browser;
  readonly server: TestServer;
  /** `http://localhost:PORT`: pages and API. */
  readonly origin: string;
  /** The log verifier key, to pin in clients. */
  readonly vkey: string;
  readonly store: SqliteStore;
  readonly logger: ReturnType<typeof memoryLogger>;
  /** Bodies of every non-GET request the directory received. */
  readonly bodies: readonly string[];
  /** Bodies of every answer it sent. */
  readonly answers: readonly string[];
  /** The directory's SQLite files (main + WAL) as bytes, and its request bodies + log lines as text. */
  serverSide(): { text: string; bytes: Buffer };
  /** The log's tree size (GET /v1/health). */
  treeSize(): Promise<number>;
  /**
   * Answers requests before the directory does while set: return a Response to stand in for the
   * directory (a failure, say), or undefined to pass the request on.
   */
  intercept: ((req: Request) => Response | undefined) | undefined;
  /** A verifying client in Node, with the pinned log key and the pages' WebAuthn policy. */
  nodeClient(): DirectoryClient;
  close(): Promise<void>;
}

/**
 * Starts Chromium and the directory with `pages`: URL path → page entry (TypeScript, bundled;
 * its script is served at `<path>.js`, or `/index.js` for `/`).
 */
export async function startBrowserDirectory(pages: Record<string, string>, config: Partial<DirectoryConfig> = {}): Promise<BrowserDirectory> {
  const files: Record<string, StaticFile> = {};
  await Promise.all(
    Object.entries(pages).map(async ([path, entry]) => {
      const script = `${path === '/' ? '/index' : path}.js`;
      files[path] = { type: 'text/html; charset=utf-8', body: testPageHtml(script) };
      files[script] = { type: 'text/javascript; charset=utf-8', body: await bundlePage(entry) };
    }),
  );
  let handler: FallbackHandler | undefined;
  const server = await serveStatic(files, () => handler);
  const dir = mkdtempSync(join(tmpdir(), 'sigil-browser-'));
  const store = new SqliteStore(join(dir, 'directory.sqlite'));
  const backend = new WebCryptoKeyBackend();
  const log = new TransparencyLog(store, {
    origin: 'sigil.test/log',
    signer: { backend, key: await backend.generateKeyPair({ usage: 'sign', label: 'log' }) },
  });
  const logger = memoryLogger();
  const { app } = createDirectoryApp({ store, log, logger, config: { rpId: 'localhost', origins: [server.origin], ...config } });
  const vkey = (await log.verifierKey()).vkey;
  const bodies: string[] = [];
  const answers: string[] = [];
  let intercept: ((req: Request) => Response | undefined) | undefined;
  handler = getRequestListener(async (req, env) => {
    if (req.method !== 'GET') bodies.push(await req.clone().text());
    const res = intercept?.(req) ?? (await app.fetch(req, env));
    answers.push(await res.clone().text());
    return res;
  });
  const browser = await launchChromium();
  return {
    get intercept() {
      return intercept;
    },
    set intercept(f) {
      intercept = f;
    },
    browser,
    server,
    origin: server.origin,
    vkey,
    store,
    logger,
    bodies,
    answers,
    serverSide() {
      const paths = ['directory.sqlite', 'directory.sqlite-wal'].map((f) => join(dir, f)).filter((f) => existsSync(f));
      return { text: [...bodies, ...logger.lines].join('\n'), bytes: Buffer.concat(paths.map((f) => readFileSync(f))) };
    },
    async treeSize() {
      return ((await (await fetch(`${server.origin}/v1/health`)).json()) as { treeSize: number }).treeSize;
    },
    nodeClient() {
      return new DirectoryClient({ url: server.origin, logPublicKey: vkey, webauthn: { rpId: 'localhost', origins: [server.origin] } });
    },
    async close() {
      await browser.close();
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
