/**
 * The console's build: static files for the API to serve under /ui, with
 * everything bundled (no CDN, works offline). `npm run build:console`.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/ui/',
  // React's automatic JSX runtime, as the tsconfig says
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: resolve(here, '..', 'dist', 'console'),
    emptyOutDir: true,
    // one stylesheet and script per build, named by their content
    assetsInlineLimit: 0,
  },
});
