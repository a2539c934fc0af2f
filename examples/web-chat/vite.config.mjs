// Vite builds the page into dist/ (served by serve.mjs). The SDK comes from the @sigil/sdk
// package as published (its "exports" map, browser conditions), not from its sources.
import { defineConfig } from 'vite';

const PLACEHOLDER = '__SIGIL_LOG_KEY__';

/**
 * Production pins the directory's log verifier key at build time: `SIGIL_LOG_KEY=<vkey> npm run
 * build` writes it into index.html. Without it the placeholder stays, and serve.mjs (development)
 * writes its own key there when it serves the page.
 */
function pinLogKey() {
  const vkey = process.env.SIGIL_LOG_KEY?.trim();
  if (vkey !== undefined && !/^[\x21-\x7e]+$/.test(vkey)) throw new Error('SIGIL_LOG_KEY expected a vkey (printable ASCII, no spaces)');
  return {
    name: 'sigil-pin-log-key',
    transformIndexHtml: (/** @type {string} */ html) => (vkey === undefined || vkey === '' ? html : html.replace(PLACEHOLDER, vkey.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`))),
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [pinLogKey()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline <script>: the page's Content-Security-Policy allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
