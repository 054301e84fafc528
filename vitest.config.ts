import { defineConfig } from 'vitest/config';

// Test files run in forked processes (the addon and Dawn each own native threads); two at a time on
// the 2-core CI machine. WebGPU on lavapipe runs shaders on the CPU, hence the generous timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
