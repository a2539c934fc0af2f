#!/usr/bin/env node
// `npm start`: the web chat (Vite's build in dist/) and the Sigil key directory on ONE origin,
// http://localhost:8787, so that the page reaches the API without CORS and WebAuthn runs with the
// RP ID `localhost` (a secure context over plain HTTP, loopback only). Composed from
// @sigil/server's exported pieces: an SQLite store, the transparency log and its key (a
// software key file, or a key in a PKCS#11 token), and the directory's Hono app; the page's files
// are served beside it with @hono/node-server's serveStatic.
//
//   node examples/web-chat/serve.mjs [--port 8787] [--data-dir ./.sigil-data] [--static DIR]
//     [--pkcs11-module M --token T --key-label L]      (PIN from SIGIL_PKCS11_PIN)
//
// The page pins the log's verifier key. A production build pins it at build time
// (SIGIL_LOG_KEY=... npm run build); for development this process writes its own key into the
// index.html it serves, from the same origin as the page's code (README.md says what that means).
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { getRequestListener } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { TransparencyLog, createDirectoryApp, jsonLogger, loadSoftwareLogKey, openPkcs11LogKey, openSqliteStore } from '@sigil/server';

/** @typedef {import('@sigil/server').Logger} Logger */
/** @typedef {import('@sigil/server').LoadedLogKey} LoadedLogKey */
/** @typedef {import('@sigil/server').Pkcs11LogKeyOptions} Pkcs11LogKeyOptions */
/** @typedef {Awaited<ReturnType<typeof openSqliteStore>>} Store */
/** @typedef {(req: Request, env: import('@hono/node-server').HttpBindings | import('@hono/node-server').Http2Bindings) => Response | Promise<Response>} Dispatch */
/**
 * @typedef {object} WebChatOptions
 * @property {number} [port] - 8787 by default; 0 picks a free port.
 * @property {string} [dataDir] - SQLite database, log key and server log (./.sigil-data).
 * @property {string | undefined} [staticDir] - Vite's build of the page (examples/web-chat/dist).
 * @property {Pkcs11LogKeyOptions | undefined} [pkcs11] - keep the log key in a token instead of a file.
 */
/**
 * @typedef {object} RunningWebChat
 * @property {string} url - `http://localhost:PORT`: the page and the API.
 * @property {number} port
 * @property {string} vkey - the log's verifier key, pinned by the page.
 * @property {string} dataDir
 * @property {string} logFile
 * @property {() => Promise<void>} close - stops listening, closes the store and the log key.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_PORT = 8787;
const PLACEHOLDER = '__SIGIL_LOG_KEY__';

/** The pages' policy: their own scripts, styles and API only; never framed; no plug-ins. */
const PAGE_HEADERS = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:', 'blob:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  referrerPolicy: 'no-referrer',
});

/** @param {string} s */
function escapeAttribute(s) {
  return s.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The data directory: private to this user, and ignored by git wherever it is.
 * @param {string} dir
 */
function prepareDataDir(dir) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ignore = join(dir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# Written by examples/web-chat/serve.mjs: the directory database and its log key.\n*\n');
}

/**
 * JSON lines into a file; warnings and errors also on stderr.
 * @param {string} path
 * @returns {{ logger: Logger, close: () => Promise<void> }}
 */
function fileLogger(path) {
  const stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  const toFile = jsonLogger((line) => stream.write(line));
  const toStderr = jsonLogger((line) => process.stderr.write(line));
  return {
    logger: {
      log(level, message, fields) {
        toFile.log(level, message, fields);
        if (level === 'warn' || level === 'error') toStderr.log(level, message, fields);
      },
    },
    close: () => new Promise((done) => stream.end(() => done(undefined))),
  };
}

/**
 * @param {import('node:http').Server} server
 * @param {number} port
 * @param {string} host
 * @returns {Promise<number>} the port it listens on
 */
function listen(server, port, host) {
  return new Promise((done, fail) => {
    /** @param {Error} e */
    const onError = (e) => fail(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      done(/** @type {import('node:net').AddressInfo} */ (server.address()).port);
    });
  });
}

/**
 * Starts the web chat and the directory on loopback (127.0.0.1, and ::1 when the machine has it).
 *
 * @param {WebChatOptions} [options]
 * @returns {Promise<RunningWebChat>}
 * @throws Error if the page is not built, the port is taken, or the log key cannot be loaded.
 */
export async function startWebChat(options = {}) {
  const port = options.port ?? DEFAULT_PORT;
  const dataDir = resolve(options.dataDir ?? '.sigil-data');
  const staticDir = resolve(options.staticDir ?? join(HERE, 'dist'));
  const indexFile = join(staticDir, 'index.html');
  if (!existsSync(indexFile)) {
    throw new Error(`${indexFile} is missing: build the page first (npm run build -w @sigil/example-web-chat)`);
  }
  prepareDataDir(dataDir);
  const logFile = join(dataDir, 'server.log');
  const { logger, close: closeLog } = fileLogger(logFile);
  const dbFile = join(dataDir, 'directory.db');

  // Listen first: the WebAuthn origin names the port, which is only known now when it is 0.
  /** @type {Dispatch} */
  let dispatch = () => new Response('starting', { status: 503 });
  const listener = getRequestListener((req, env) => dispatch(req, env));
  const v4 = createServer(listener);
  const servers = [v4];
  const actualPort = await listen(v4, port, '127.0.0.1');
  try {
    const v6 = createServer(listener);
    await listen(v6, actualPort, '::1');
    servers.push(v6);
  } catch (e) {
    // No IPv6 loopback here (or the port is taken on it): 127.0.0.1 serves `localhost` alone.
    logger.log('info', 'not listening on ::1', { error: /** @type {{ code?: string }} */ (e).code ?? String(e) });
  }
  const origin = `http://localhost:${actualPort}`;

  /** @type {LoadedLogKey | undefined} */
  let logKey;
  /** @type {Store | undefined} */
  let store;
  try {
    logKey = options.pkcs11 === undefined ? await loadSoftwareLogKey(`${dbFile}.logkey`, logger) : await openPkcs11LogKey(options.pkcs11, logger);
    store = await openSqliteStore(dbFile);
    const log = new TransparencyLog(store, { origin: 'localhost/sigil-log', signer: logKey.signer });
    const vkey = (await log.verifierKey()).vkey;
    await log.checkpoint(); // a broken key fails the start, not a request
    const directory = createDirectoryApp({ store, log, logger, config: { rpId: 'localhost', origins: [origin] } });

    const built = readFileSync(indexFile, 'utf8');
    const pinned = /<meta name="sigil-log-key" content="([^"]*)"/.exec(built)?.[1];
    if (pinned === undefined) throw new Error(`${indexFile} has no <meta name="sigil-log-key">`);
    if (pinned !== PLACEHOLDER && pinned !== escapeAttribute(vkey)) {
      logger.log('warn', 'the page was built pinning another log key than this directory has: it will refuse this directory', { file: indexFile });
    }
    const indexHtml = built.replace(`content="${PLACEHOLDER}"`, `content="${escapeAttribute(vkey)}"`);

    const pages = new Hono();
    pages.use('*', PAGE_HEADERS);
    /** @param {import('hono').Context} c */
    const index = (c) => {
      c.header('Cache-Control', 'no-store');
      return c.html(indexHtml);
    };
    pages.get('/', index);
    pages.get('/index.html', index);
    pages.use(
      '/assets/*',
      serveStatic({ root: staticDir, onFound: (_path, c) => c.header('Cache-Control', 'public, max-age=31536000, immutable') }),
    );
    pages.notFound((c) => c.text('Not found', 404));

    // The env carries the socket: the directory rate-limits its /v1/auth/* routes per address.
    dispatch = (req, env) => {
      const { pathname } = new URL(req.url);
      return pathname === '/v1' || pathname.startsWith('/v1/') ? directory.app.fetch(req, env) : pages.fetch(req, env);
    };
    logger.log('info', 'listening', { url: origin, db: dbFile, static: staticDir });

    const openStore = store;
    const openLogKey = logKey;
    /** @type {Promise<void> | undefined} */
    let closing;
    return {
      url: origin,
      port: actualPort,
      vkey,
      dataDir,
      logFile,
      close: () =>
        (closing ??= (async () => {
          await Promise.all(
            servers.map(
              (s) =>
                new Promise((done) => {
                  s.close(() => done(undefined));
                  s.closeIdleConnections();
                  // A tab holding a request open must not hold the shutdown: cut it after a moment.
                  setTimeout(() => s.closeAllConnections(), 1500).unref();
                }),
            ),
          );
          await openStore.close();
          await openLogKey.close();
          logger.log('info', 'stopped', {});
          await closeLog();
        })()),
    };
  } catch (e) {
    for (const s of servers) s.close();
    await store?.close();
    await logKey?.close();
    await closeLog();
    throw e;
  }
}

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  process.stderr.write(`web-chat: ${message}\n`);
  process.exit(2);
}

/** @param {string[]} argv */
async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean', short: 'h' },
        port: { type: 'string', default: String(DEFAULT_PORT) },
        'data-dir': { type: 'string', default: '.sigil-data' },
        static: { type: 'string' },
        'pkcs11-module': { type: 'string' },
        token: { type: 'string' },
        'key-label': { type: 'string', default: 'sigil-log' },
      },
    });
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(
      'Usage: npm start -- [--port 8787] [--data-dir ./.sigil-data] [--static DIR] [--pkcs11-module M --token T --key-label L]\n' +
        'Serves the web chat and the key directory on http://localhost:PORT (loopback only). The PIN of a token\n' +
        'comes from SIGIL_PKCS11_PIN. Without --pkcs11-module the log key is a software key file in the data directory.\n',
    );
    return;
  }
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) fail(`--port expected 0..65535, got ${values.port}`);
  /** @type {Pkcs11LogKeyOptions | undefined} */
  let pkcs11;
  if (values['pkcs11-module'] !== undefined) {
    const pin = process.env.SIGIL_PKCS11_PIN;
    if (values.token === undefined) fail('--pkcs11-module needs --token');
    if (pin === undefined || pin === '') fail('--pkcs11-module needs the PIN in SIGIL_PKCS11_PIN');
    pkcs11 = { module: values['pkcs11-module'], token: values.token, pin, label: values['key-label'] };
  }

  // Signals first: a Ctrl-C during start-up stops the server as soon as it is up.
  /** @type {RunningWebChat | undefined} */
  let running;
  let stopping = false;
  /** @param {NodeJS.Signals} signal */
  const stop = (signal) => {
    if (stopping) {
      if (signal === 'SIGINT') process.exit(130); // a second Ctrl-C: do not wait
      return;
    }
    stopping = true;
    if (running === undefined) return;
    process.stdout.write('\nweb-chat: stopping\n');
    running.close().then(
      () => process.exit(0),
      (/** @type {unknown} */ e) => {
        process.stderr.write(`web-chat: error while stopping: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  running = await startWebChat({ port: Number(values.port), dataDir: values['data-dir'], staticDir: values.static, pkcs11 });
  process.stdout.write(
    [
      '',
      'Sigil web chat, with its key directory on the same origin',
      `  open:     ${running.url}`,
      `  data:     ${running.dataDir} (SQLite; log key ${pkcs11 === undefined ? 'in a software key file' : `on token ${pkcs11.token}`})`,
      `  log key:  ${running.vkey}`,
      '            (the page pins it; for production pin it at build time, see examples/web-chat/README.md)',
      `  logs:     ${running.logFile}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  if (stopping) {
    stopping = false;
    stop('SIGTERM');
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((/** @type {unknown} */ e) => {
    const errorCode = /** @type {{ code?: unknown }} */ (e ?? {}).code;
    const code = typeof errorCode === 'string' ? ` (${errorCode})` : '';
    process.stderr.write(`web-chat: ${e instanceof Error ? e.message : String(e)}${code}\n`);
    process.exit(1);
  });
}
