import { defineConfig } from "vitest/config";

// Tests that need the workspace's built binaries (run after `cargo nextest run` builds them).
export default defineConfig({
  test: {
    include: ["e2e/**/*.test.ts"],
    testTimeout: 120_000,
  },
});
