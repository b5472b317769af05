import { defineConfig } from 'vitest/config';

// Unit tests of the sans-IO modules, under Node (no DOM): `npm test` runs them once, `npx vitest` watches.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
