// ESM-only packages that jest (on Node 20) cannot require: swc compiles them to CommonJS.
// content-disposition and cookie: through @fastify/swagger-ui and fastify's inject;
// @kubernetes/client-node 2.x and the ESM-only packages it imports.
const ESM_ONLY = [
  'content-disposition',
  'cookie',
  '@kubernetes/client-node',
  'openid-client',
  'oauth4webapi',
  'jose',
  'socks-proxy-agent',
  'agent-base',
];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest'],
    [`/node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`]: ['@swc/jest'],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  testTimeout: 60_000,
  // Each workflow test file runs its own worker, and many wait on timers (evacuation rates, windows, a
  // minute of idle npm start): a third file uses the time two leave idle on 2 cores (README "Tests").
  maxWorkers: 3,
};
