import { defineConfig } from 'vitest/config';

// Most suites start real servers (Temporal, moto, model processes). On a 2-core machine
// running files one at a time keeps them from starving each other's health checks.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // A Qdrant server for the Qdrant contract suite and the RAG end-to-end test, when one is
    // configured or a server binary is at hand (test/support/qdrant-global-setup.ts).
    globalSetup: ['test/support/qdrant-global-setup.ts'],
  },
});
