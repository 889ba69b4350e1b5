// Lint: `npm run lint` (part of scripts/test.sh, so CI fails on a violation).
// Its main job is the architecture rule: every service's src/domain/** is pure logic
// (decide, render, route) with time and ids passed in; I/O lives in adapters.
import tseslint from 'typescript-eslint';

const IO_MODULES = [
  'kafkajs', 'mongodb', 'express', 'axios', 'undici', 'pino', 'prom-client', 'opossum', 'kafkajs*',
  '@sicantik/kafka', '@sicantik/observability', '@kafkajs/*',
  'node:fs', 'node:fs/*', 'node:http', 'node:https', 'node:net', 'node:dns', 'node:child_process', 'node:worker_threads', 'node:cluster',
  'fs', 'fs/*', 'http', 'https', 'net', 'dns', 'child_process', 'worker_threads', 'cluster',
];

// What src/domain may not import from its own service: anything under src/adapters, and
// the files at the top of src that do I/O or wire it (main.ts, cli.ts, config.ts, the
// tracker's rebuild.ts, the planner's planner.ts). Matched on the relative path, from any
// depth under src/domain: '../adapters/consumer', '../../adapters', '../main', ...
const WIRING = String.raw`^(?:\.\./)+(?:adapters(?:/.*)?|(?:main|cli|config|rebuild|planner)(?:\.[cm]?[jt]s)?)$`;

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.stack/**', '.cache/**', '.turbo/**', 'coverage/**'] },
  { linterOptions: { reportUnusedDisableDirectives: 'off' } },
  { files: ['**/*.js'], languageOptions: { sourceType: 'commonjs', ecmaVersion: 2023 } },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-debugger': 'error',
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    files: ['services/*/src/domain/**/*.ts', 'tools/*/src/domain/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: IO_MODULES, message: 'src/domain is pure: no I/O modules (Kafka, database, HTTP, files, logging, metrics). Do the I/O in an adapter and pass the result in.' },
          { regex: WIRING, message: 'src/domain must not depend on the service\'s adapters or wiring (src/adapters/**, main, cli, config).' },
        ],
      }],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'src/domain takes the time as a parameter.' },
        { object: 'Math', property: 'random', message: 'src/domain takes ids and randomness as parameters.' },
        { object: 'process', property: 'env', message: 'src/domain takes its settings as parameters (read the environment in config).' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'src/domain takes the time as a parameter (new Date() reads the clock).' },
      ],
    },
  },
);
