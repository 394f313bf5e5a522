// typescript-eslint on every source folder, and the one house rule it cannot infer:
// a folder is used through its index.ts, never through another folder's internals.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const message = "import another folder through its index.js: its other files are that folder's internals";
// A relative import that climbs `depth` folders into a top-level folder and names a file there other than index.js.
const intoInternals = (depth) => ({ regex: `^(\\.\\./){${depth}}[^./][^/]*/(?!index\\.js$).+`, message });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '**/node_modules/**', 'faiss/native/build/**', 'coverage/**', 'api/grpc-types/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
        queueMicrotask: 'readonly',
        crypto: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  // Tests read loosely typed JSON answers and reach into internals on purpose.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['*/*.ts'], ignores: ['test/**', 'bench/**'], rules: { 'no-restricted-imports': ['error', { patterns: [intoInternals(1)] }] } },
  { files: ['*/*/*.ts'], ignores: ['test/**', 'bench/**'], rules: { 'no-restricted-imports': ['error', { patterns: [intoInternals(2)] }] } },
  { files: ['*/*/*/*.ts'], ignores: ['test/**', 'bench/**'], rules: { 'no-restricted-imports': ['error', { patterns: [intoInternals(3)] }] } },
);
