// CommonJS Jest, as a Nest 11 app's own test suite would run it. Specs import 'nestjs-trace', which run.sh installs
// into ./node_modules from a packed tarball, so it resolves through the package's `exports` "require" condition.
/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  roots: ['<rootDir>/specs'],
  testMatch: ['**/*.e2e-spec.ts'],
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  testTimeout: 20000,
};
