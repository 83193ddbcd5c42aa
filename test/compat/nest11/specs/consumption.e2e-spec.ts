import { dirname, join, sep } from 'node:path';
import { realpathSync } from 'node:fs';

// Guards the setup itself: the library must be the packed CommonJS build, and its own require('@nestjs/*') must reach
// this suite's Nest 11 copies, never the repo root's Nest 12 (ESM) ones.
describe('consumption as a Nest 11 CommonJS app would', () => {
  const here = realpathSync(__dirname + '/..');
  const nodeModules = join(here, 'node_modules');
  const entry = require.resolve('nestjs-trace');

  it('resolves nestjs-trace through the "require" condition to the installed dist/cjs', () => {
    expect(entry).toBe(join(nodeModules, 'nestjs-trace', 'dist', 'cjs', 'index.js'));
    const library = require('nestjs-trace') as Record<string, unknown>;
    for (const name of [
      'TraceModule',
      'Trace',
      'NoTrace',
      'TraceContext',
      'TraceInterceptor',
      'SystemMetricsService',
    ]) {
      expect(typeof library[name]).toBe('function');
    }
  });

  it('makes the library load @nestjs/* 11 from this suite, the same copies the tests use', () => {
    for (const name of ['@nestjs/common', '@nestjs/core']) {
      const fromLibrary = require.resolve(name, { paths: [dirname(entry)] });
      expect(fromLibrary.startsWith(nodeModules + sep)).toBe(true);
      expect(fromLibrary).toBe(require.resolve(name));
      const { version } = require(`${name}/package.json`) as { version: string };
      expect(version).toMatch(/^11\./);
    }
    const { version } = require('@nestjs/websockets/package.json') as { version: string };
    expect(version).toMatch(/^11\./);
  });
});
