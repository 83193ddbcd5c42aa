import { spawnSync } from 'node:child_process';

describe('@nestjs-modules/ioredis default connection token (auto-detected by AppConnections)', () => {
  it('is "default_IORedisModuleConnectionToken" in the installed version', () => {
    // Asked of plain Node: the package is CommonJS requiring ESM-only @nestjs/common 12, which Jest's ESM runtime
    // cannot load before Node 24.9.
    const result = spawnSync(
      process.execPath,
      ['-e', "process.stdout.write(require('@nestjs-modules/ioredis').getRedisConnectionToken())"],
      {
        cwd: process.cwd(),
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '--no-warnings' },
      },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('default_IORedisModuleConnectionToken');
  });
});
