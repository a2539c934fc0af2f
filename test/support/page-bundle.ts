// Bundles test page code (TypeScript that imports the SDK's sources) into one IIFE script for a
// browser page, with esbuild. The SDK is taken from its sources, with "#platform" resolved to the
// WebCrypto seam, which is what a browser bundler picks by export conditions (the browser-bundle
// test checks that choice against packages/sdk/package.json). Fails on any `node:` import.
import { build, type Plugin } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const sdkSrc = resolve(repoRoot, 'packages/sdk/src');

const sdkSources: Plugin = {
  name: 'sigil-sdk-sources',
  setup(b) {
    b.onResolve({ filter: /^#platform$/ }, () => ({ path: resolve(sdkSrc, 'internal/platform/web.ts') }));
    b.onResolve({ filter: /^@sigil\/sdk$/ }, () => ({ path: resolve(sdkSrc, 'index.ts') }));
    b.onResolve({ filter: /^@sigil\/sdk\/(errors|node)$/ }, (a) => ({ path: resolve(sdkSrc, `${a.path.slice('@sigil/sdk/'.length)}.ts`) }));
    // A subpath entry point is the index of the folder of the same name (package.json "exports").
    b.onResolve({ filter: /^@sigil\/sdk\/[a-z-]+$/ }, (a) => ({ path: resolve(sdkSrc, a.path.slice('@sigil/sdk/'.length), 'index.ts') }));
  },
};

/**
 * Bundles `entry` (a path, relative to the repository root or absolute) for a browser page.
 * @returns the script text (an IIFE).
 */
export async function bundlePage(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [resolve(repoRoot, entry)],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    external: ['node:*'],
    plugins: [sdkSources],
  });
  const nodeImports = Object.values(result.metafile.outputs)
    .flatMap((o) => o.imports.map((i) => i.path))
    .filter((p) => p.startsWith('node:'));
  if (nodeImports.length > 0) throw new Error(`page bundle ${entry} imports Node modules: ${nodeImports.join(', ')}`);
  const [file] = result.outputFiles;
  if (file === undefined) throw new Error(`esbuild produced no output for ${entry}`);
  return file.text;
}
