// The envelope API in a real browser (headless Chromium): encrypt, decrypt and both streams,
// built for the browser from the sources with the WebCrypto platform, no Node API in the page.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const src = (p: string) => fileURLToPath(new URL(`../src/${p}`, import.meta.url));
let browser: Browser;
let bundle: string;

beforeAll(async () => {
  const result = await build({
    stdin: {
      contents: `
        export { encrypt } from ${JSON.stringify(src('envelope/encrypt.ts'))};
        export { decrypt } from ${JSON.stringify(src('envelope/decrypt.ts'))};
        export { encryptStream, decryptStream } from ${JSON.stringify(src('envelope/streams.ts'))};
        export { WebCryptoKeyBackend } from ${JSON.stringify(src('backend/webcrypto-key-backend.ts'))};
        export { SigilError } from ${JSON.stringify(src('errors.ts'))};`,
      resolveDir: src('.'),
      loader: 'ts',
    },
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'sigil',
    platform: 'browser',
    plugins: [
      {
        // The browser side of the platform seam, as package.json "imports" picks it without the node condition.
        name: 'platform-web',
        setup(b) {
          b.onResolve({ filter: /^#platform$/ }, () => ({ path: src('internal/platform/web.ts') }));
          b.onResolve({ filter: /^node:/ }, (args) => ({ errors: [{ text: `node import in a browser bundle: ${args.path}` }] }));
        },
      },
    ],
    logLevel: 'silent',
  });
  bundle = result.outputFiles[0]!.text;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe('envelopes in Chromium', () => {
  it('encrypt/decrypt and the streams round-trip, and tampering is a SigilError', async () => {
    const page = await browser.newPage();
    // http://localhost is a secure context (WebCrypto needs one); served from memory, no socket.
    await page.route('http://localhost/**', (route) =>
      route.fulfill({ contentType: 'text/html', body: `<!doctype html><title>sigil</title><script>${bundle.replaceAll('</script', '<\\/script')}</script>` }),
    );
    await page.goto('http://localhost/');
    const result = await page.evaluate(async () => {
      type Api = typeof import('../src/index.js');
      const s = (globalThis as unknown as { sigil: Api }).sigil;
      const keys = new s.WebCryptoKeyBackend();
      const signer = await keys.generateKeyPair({ usage: 'sign', label: 's' });
      const alice = await keys.generateKeyPair({ usage: 'agree', label: 'a' });
      const plaintext = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff);
      // Segments of one chunk: both paths sign with a message key (FORMAT.md §4.1), so both envelopes have one layout.
      const opts = { to: [{ publicKey: alice.publicKey }], from: { backend: keys, ref: signer }, chunkSize: 1024, segmentSize: 1024 };
      const envelope = await s.encrypt(plaintext, opts);
      const oneShot = await s.decrypt(envelope, { keys });
      const collect = async (stream: ReadableStream<Uint8Array>) => {
        const parts: number[] = [];
        const reader = stream.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return parts;
          parts.push(...value);
        }
      };
      const source = (bytes: Uint8Array) => new Blob([bytes as Uint8Array<ArrayBuffer>]).stream() as ReadableStream<Uint8Array>;
      const streamedEnvelope = new Uint8Array(await collect(source(plaintext).pipeThrough(s.encryptStream(opts))));
      const streamedPlain = await collect(source(streamedEnvelope).pipeThrough(s.decryptStream({ keys })));
      const bad = envelope.slice();
      bad[bad.length - 65] = bad[bad.length - 65]! ^ 1; // the final chunk's tag, before the last segment signature
      let code = 'none';
      try {
        await s.decrypt(bad, { keys });
      } catch (e) {
        code = s.SigilError.is(e) ? e.code : `not a SigilError: ${String(e)}`;
      }
      return {
        oneShot: Array.from(oneShot.plaintext).join() === Array.from(plaintext).join(),
        streamed: streamedPlain.join() === Array.from(plaintext).join(),
        sameLength: streamedEnvelope.length === envelope.length,
        code,
        hasBuffer: typeof (globalThis as { Buffer?: unknown }).Buffer !== 'undefined',
      };
    });
    expect(result).toEqual({ oneShot: true, streamed: true, sameLength: true, code: 'E_AUTH_FAILED', hasBuffer: false });
    await page.close();
  });
});
