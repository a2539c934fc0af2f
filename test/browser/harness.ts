// One Chromium, one static origin serving the bundled identity page, per test file.
import type { Browser } from 'playwright-core';
import { launchChromium, openPage, serveStatic, testPageHtml, type TestPage, type TestServer, type VirtualAuthenticatorOptions } from '../support/browser.js';
import { bundlePage } from '../support/page-bundle.js';

export interface IdentityHarness {
  readonly browser: Browser;
  readonly server: TestServer;
  readonly origin: string;
  open(authenticator: VirtualAuthenticatorOptions): Promise<TestPage>;
  close(): Promise<void>;
}

export async function startIdentityHarness(): Promise<IdentityHarness> {
  const script = await bundlePage('packages/sdk/test/browser-pages/identity-page.ts');
  const server = await serveStatic({
    '/': { type: 'text/html; charset=utf-8', body: testPageHtml('/identity-page.js') },
    '/identity-page.js': { type: 'text/javascript; charset=utf-8', body: script },
  });
  const browser = await launchChromium();
  const pages: TestPage[] = [];
  return {
    browser,
    server,
    origin: server.origin,
    async open(authenticator) {
      const tp = await openPage(browser, `${server.origin}/`, authenticator);
      pages.push(tp);
      return tp;
    },
    async close() {
      for (const tp of pages) await tp.context.close().catch(() => undefined);
      await browser.close();
      await server.close();
    },
  };
}
