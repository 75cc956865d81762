import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.tools/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The CLI's launcher: CommonJS run by node as it is.
    files: ['bin/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __filename: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The CLI speaks only the HTTP API: the server's modules are read for their types, never loaded.
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['../api/*', '../../api/*', '**/workflows/*', '**/activities/*', '**/config/*', '**/runtime/*', '**/sandbox/*'], allowTypeImports: true, message: 'the CLI reaches cutover through its HTTP API only' }],
      }],
    },
  },
  {
    // What the console and the CLI both draw, and the console itself: browser code, no Node APIs.
    files: ['src/view/**/*.ts', 'console/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https'], message: 'runs in the browser too' },
          { group: ['**/api/*', '**/workflows/*', '**/activities/*', '**/config/*', '**/runtime/*', '**/sandbox/*', '**/cli/*'], allowTypeImports: true, message: 'only the domain and the view are shared with the browser' },
        ],
      }],
    },
  },
  {
    // Workflow code is replayed: no Node APIs, only activity *types*.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['../activities/*', '../../activities/*'], allowTypeImports: true, message: 'workflows import activity types only' },
          { group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'pg', '@kubernetes/*'], message: 'no I/O in workflow code' },
        ],
      }],
    },
  },
);
