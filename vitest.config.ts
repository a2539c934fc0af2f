import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests run against the TypeScript sources (no stale dist), across packages.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@sigil\/sdk$/, replacement: src('./packages/sdk/src/index.ts') },
      { find: /^@sigil\/sdk\/(errors|node)$/, replacement: src('./packages/sdk/src/$1.ts') },
      // A subpath entry point is the index of the folder of the same name (package.json "exports").
      { find: /^@sigil\/sdk\/([a-z-]+)$/, replacement: src('./packages/sdk/src/$1/index.ts') },
      { find: /^@sigil\/hsm-adapter$/, replacement: src('./packages/hsm-adapter/src/index.ts') },
      { find: /^@sigil\/hsm-adapter\/([a-z-]+)$/, replacement: src('./packages/hsm-adapter/src/$1/index.ts') },
      { find: /^@sigil\/server$/, replacement: src('./packages/server/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // PKCS#11 modules and browsers are per-process resources: isolate test files in forks.
    pool: 'forks',
    reporters: ['default'],
  },
});
