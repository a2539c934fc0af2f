// The kit's globalSetup checks that SoftHSM is installed and makes one token per worker;
// `pool: 'forks'` gives each test file a process of its own (SoftHSM reads its configuration
// once per process).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/*.test.js'],
    globalSetup: ['@sigil/hsm-adapter/testing/vitest-setup'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
