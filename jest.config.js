// One runner, three projects: unit (pure logic, no I/O), integration (real
// Kafka, schema registry and FerretDB from deploy/local/stack.sh) and e2e
// (all five services as separate processes). Sources are compiled by SWC.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] };
const moduleNameMapper = { '^@sicantik/(core|config|observability|schemas|kafka|templates|providers|privacy)$': '<rootDir>/packages/$1/src' };
const common = { testEnvironmentOptions: { globalsCleanup: 'off' }, rootDir: __dirname, transform, moduleNameMapper, testEnvironment: 'node', modulePathIgnorePatterns: ['<rootDir>/.*/dist/', '<rootDir>/.cache/', '<rootDir>/.stack/'] };

module.exports = {
  testTimeout: 180_000, // a global option in Jest 30; unit tests finish in milliseconds anyway
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{packages,services,tools}/**/*.unit.spec.ts', '<rootDir>/test/*.unit.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/{packages,services,tools}/**/*.int.spec.ts', '<rootDir>/test/*.int.spec.ts'], slowTestThreshold: 30 },
    // After the e2e tests: no service log line of the run carries a fixture's phone number or name.
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e.spec.ts'], slowTestThreshold: 120, globalTeardown: '<rootDir>/test/support/e2eLogCheck.ts' },
  ],
};
