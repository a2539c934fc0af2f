import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests run against the TypeScript sources (no stale dist), across packages.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@sigil\/sdk$/, replacement: src('./packages/sdk/src/index.ts') },
      { find: /^@sigil\/sdk\/errors$/, replacement: src('./packages/sdk/src/errors.ts') },
      { find: /^@sigil\/sdk\/node$/, replacement: src('./packages/sdk/src/node.ts') },
      { find: /^@sigil\/hsm-adapter$/, replacement: src('./packages/hsm-adapter/src/index.ts') },
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
