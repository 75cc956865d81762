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
