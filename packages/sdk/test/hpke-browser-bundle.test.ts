// The browser bundle must never contain a `node:` import. "#platform" (packages/sdk/package.json
// "imports") selects internal/platform/node under the "node" condition and internal/platform/web
// otherwise. This bundles packages/sdk/src/index.ts, plus the HPKE and chunked-AEAD modules, with
// esbuild --platform=browser and fails on any `node:` import or on the Node platform module.
import { build, type Plugin } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const sdk = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// esbuild resolves "#platform" by the package's conditions; the targets are the built files
// (dist/*.js). To bundle the sources under test, map the chosen dist file back to its .ts source,
// asserting first WHICH file the browser conditions chose.
const chosen: string[] = [];
const distToSrc: Plugin = {
  name: 'dist-to-src',
  setup(b) {
    b.onResolve({ filter: /^#platform$/ }, async (args) => {
      if (args.pluginData === 'inner') return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'inner' });
      if (r.errors.length > 0) return { errors: r.errors };
      chosen.push(r.path);
      return { path: r.path.replace(`${sdk}/dist/`, `${sdk}/src/`).replace(/\.js$/, '.ts') };
    });
  },
};

describe('browser bundle', () => {
  it('esbuild --platform=browser bundles the SDK with the WebCrypto seam and no node: import', async () => {
    const result = await build({
      stdin: {
        contents: [
          "export * from './src/index.ts';",
          "export { sealBase, openBase } from './src/internal/hpke.ts';",
          "export { createChunkSealer, createChunkOpener } from './src/internal/chunked-aead.ts';",
        ].join('\n'),
        resolveDir: sdk,
        loader: 'ts',
      },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      // Keep node: specifiers visible in the metafile instead of failing resolution, so the
      // assertion below names them.
      external: ['node:*'],
      plugins: [distToSrc],
    });
    expect(chosen.length).toBeGreaterThan(0);
    for (const path of chosen) expect(path).toMatch(/dist\/internal\/platform\/web\.js$/);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((p) => p.endsWith('sdk/src/internal/platform/web.ts'))).toHaveLength(1);
    expect(inputs.filter((p) => p.includes('platform/node'))).toEqual([]);
    const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
    expect(imports.filter((p) => p.startsWith('node:'))).toEqual([]);
    const text = result.outputFiles.map((f) => f.text).join('\n');
    expect(text).not.toMatch(/["']node:[a-z_/]+["']/);
  });

  it('the browser bundle of the /browser entry point carries the browser identity modules and no PKCS#11 code', async () => {
    // The /browser entry point exports the browser identity modules (key store, PRF, WebAuthn ceremonies);
    // PKCS#11 (pkcs11js, graphene-pk11, @sigil/hsm-adapter) is Node-only and must never be pulled in.
    const result = await build({
      entryPoints: [`${sdk}/src/browser/index.ts`],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      external: ['node:*'],
      plugins: [distToSrc],
    });
    const inputs = Object.keys(result.metafile.inputs);
    for (const m of ['src/browser/key-store.ts', 'src/browser/prf.ts', 'src/browser/webauthn.ts']) {
      expect(inputs.filter((p) => p.endsWith(m))).toHaveLength(1);
    }
    expect(inputs.some((p) => p.includes('@simplewebauthn/browser'))).toBe(true);
    expect(inputs.filter((p) => /pkcs11js|graphene|hsm-adapter|platform\/node/.test(p))).toEqual([]);
    const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
    expect(imports.filter((p) => p.startsWith('node:') || /pkcs11|graphene/.test(p))).toEqual([]);
    const text = result.outputFiles.map((f) => f.text).join('\n');
    expect(text).not.toMatch(/["'](node:[a-z_/]+|pkcs11js|graphene-pk11|@sigil\/hsm-adapter)["']/);
  });

  it('under the "node" condition the same specifier selects the node:crypto seam', async () => {
    chosen.length = 0;
    await build({
      stdin: { contents: "export { platform } from '#platform';", resolveDir: `${sdk}/src/internal`, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      plugins: [distToSrc],
    });
    expect(chosen).toHaveLength(1);
    expect(chosen[0]).toMatch(/dist\/internal\/platform\/node\.js$/);
  });
});
