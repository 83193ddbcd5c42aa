import type { Config } from 'jest';

const transform: Config['transform'] = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
};

const shared: Config = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform,
  testEnvironment: 'node',
  // .ci/run's Node 24 copy of the tree (.node24/tree): not this tree's modules or tests.
  modulePathIgnorePatterns: ['<rootDir>/\\.node\\d+/'],
};

const config: Config = {
  // Creates the MySQL database named in MYSQL_URL when it is missing.
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.spec.ts'] },
    { ...shared, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.spec.ts'] },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
    { ...shared, displayName: 'reliability', testMatch: ['<rootDir>/test/reliability/**/*.spec.ts'] },
  ],
};

export default config;
