#!/usr/bin/env node
// `sigil-server`: the key directory's command line (docs/DIRECTORY.md).
//
//   sigil-server serve --db ./sigil.db --port 8787 [--host 127.0.0.1] [--rp-id localhost]
//     [--origin http://localhost:8787] [--log-origin localhost/sigil-log]
//     [--pkcs11-module M --token T --key-label L [--pin-file F]]   (else PIN from SIGIL_PKCS11_PIN)
//     [--trusted-proxy ADDR]...
//     [--new-log-under-signed-key]
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { jsonLogger } from '../http/logger.js';
import { loadSoftwareLogKey, openPkcs11LogKey, readPinFile, takePinFromEnvironment, type LoadedLogKey } from './log-key.js';
import { startDirectoryServer } from './serve.js';

// Node's pool for small Buffers at 64 KiB (8 KiB by default), made here because it is process-wide:
// docs/DIRECTORY.md, "The lookup path" (pooled buffers).
Buffer.poolSize = 64 * 1024;

const HELP = `sigil-server: the Sigil key directory (accounts, signed statements, transparency log, mailbox)

Usage:
  sigil-server serve [options]
  sigil-server --help

Options of serve:
  --db FILE             SQLite database, created and migrated on first start (default ./sigil.db)
  --port N              TCP port (default 8787; 0 picks a free one)
  --host ADDR           address to bind (default 127.0.0.1: loopback only)
  --rp-id ID            WebAuthn relying-party id (default localhost)
  --origin URL          allowed WebAuthn origin; repeat for several (default http://localhost:8787)
  --log-origin NAME     checkpoint origin and log key name (default <rp-id>/sigil-log)
  --pkcs11-module PATH  keep the log key in a PKCS#11 token (e.g. /usr/lib/softhsm/libsofthsm2.so)
  --token LABEL         label of the token (with --pkcs11-module)
  --key-label LABEL     CKA_LABEL of the log key on the token (default sigil-log; generated if absent)
  --pin-file FILE       read the token's user PIN from the first line of FILE (instead of the environment)
  --trusted-proxy ADDR  IP address of a reverse proxy in front of the server; repeat for several.
                        Requests from it are rate-limited by the client address it appends to
                        X-Forwarded-For (without this, the header is ignored)
  --new-log-under-signed-key
                        start even though the database lost the tree the log key last signed
                        (<db>.last-checkpoint): a NEW log under the same key, which every client
                        that saw the old one reports as a fork. Read docs/DIRECTORY.md, "Failure
                        modes", first; a new key is the better answer

Environment:
  SIGIL_PKCS11_PIN      user PIN of the token (with --pkcs11-module, unless --pin-file); removed
                        from the environment as soon as it is read

Without --pkcs11-module the log key is a software key file beside the database (<db>.logkey,
PKCS#8, mode 0600), created on first start. The log's verifier key (vkey) is printed at start:
clients pin it. Logs are JSON lines on stdout. SIGTERM or SIGINT stops the server cleanly.
`;

function fail(message: string): never {
  process.stderr.write(`sigil-server: ${message}\nRun sigil-server --help for usage.\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        db: { type: 'string', default: './sigil.db' },
        port: { type: 'string', default: '8787' },
        host: { type: 'string', default: '127.0.0.1' },
        'rp-id': { type: 'string', default: 'localhost' },
        origin: { type: 'string', multiple: true },
        'log-origin': { type: 'string' },
        'pkcs11-module': { type: 'string' },
        token: { type: 'string' },
        'key-label': { type: 'string', default: 'sigil-log' },
        'pin-file': { type: 'string' },
        'trusted-proxy': { type: 'string', multiple: true },
        'new-log-under-signed-key': { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    fail((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals.length === 0) {
    process.stdout.write(HELP);
    if (values.help !== true) process.exitCode = 2;
    return;
  }
  if (positionals[0] !== 'serve' || positionals.length > 1) fail(`unknown command: ${positionals.join(' ')}`);
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) fail(`--port expected 0..65535, got ${values.port}`);
  const rpId = values['rp-id'];
  const origins = values.origin ?? ['http://localhost:8787'];

  const trustedProxies = values['trusted-proxy'] ?? [];
  for (const a of trustedProxies) if (isIP(a) === 0) fail(`--trusted-proxy expected an IP address, got ${a}`);

  // Taken out of the environment first, whatever happens next: no child and no later code sees it.
  const envPin = takePinFromEnvironment();
  const logger = jsonLogger();
  let logKey: LoadedLogKey;
  if (values['pkcs11-module'] !== undefined) {
    if (values.token === undefined) fail('--pkcs11-module needs --token');
    const pin = values['pin-file'] !== undefined ? await readPinFile(values['pin-file']) : envPin;
    if (pin === undefined) fail('--pkcs11-module needs the PIN: --pin-file FILE or SIGIL_PKCS11_PIN');
    logKey = await openPkcs11LogKey({ module: values['pkcs11-module'], token: values.token, pin, label: values['key-label'] }, logger);
  } else {
    if (values.token !== undefined) fail('--token needs --pkcs11-module');
    if (values['pin-file'] !== undefined) fail('--pin-file needs --pkcs11-module');
    logKey = await loadSoftwareLogKey(`${values.db}.logkey`, logger);
  }

  // Signal handlers first: a SIGTERM during start-up stops the server as soon as it is up.
  let running: Awaited<ReturnType<typeof startDirectoryServer>> | undefined;
  let stopSignal: string | undefined;
  const stop = (signal: string) => {
    stopSignal ??= signal;
    if (running === undefined) return; // still starting: handled below
    logger.log('info', 'stopping', { signal });
    running.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.log('error', 'error while stopping', { error: e instanceof Error ? e.message : String(e) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  try {
    running = await startDirectoryServer({
      db: values.db,
      host: values.host,
      port: Number(values.port),
      logOrigin: values['log-origin'] ?? `${rpId}/sigil-log`,
      config: { rpId, origins, trustedProxies },
      logKey,
      logger,
      newLogUnderSignedKey: values['new-log-under-signed-key'],
    });
  } catch (e) {
    await logKey.close();
    throw e;
  }
  logger.flush?.(); // the log lines of the start-up come before the line that says it is up
  process.stderr.write(`sigil-server: listening on ${running.url}\nsigil-server: log key (pin it in clients): ${running.vkey}\n`);
  if (stopSignal !== undefined) stop(stopSignal);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  // Start-up failures (bad config, token or PIN, port in use): one line, no stack for expected ones.
  const code = (e as { code?: unknown }).code;
  process.stderr.write(`sigil-server: ${e instanceof Error ? e.message : String(e)}${typeof code === 'string' ? ` (${code})` : ''}\n`);
  process.exit(1);
});
