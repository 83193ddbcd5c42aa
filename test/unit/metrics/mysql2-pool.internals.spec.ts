import { createRequire } from 'node:module';
import mysql from 'mysql2';
import { readMysql2PoolState } from '../../../src/metrics/mysql2-pool.internals.js';

const mysql2Version = (createRequire(`${process.cwd()}/package.json`)('mysql2/package.json') as { version: string })
  .version;

describe(`readMysql2PoolState pins the mysql2 pool internals it reads (installed mysql2 ${mysql2Version})`, () => {
  it('reads a real pool — fails here if an upgrade renames _allConnections / _freeConnections / _connectionQueue', async () => {
    // Never connects: the state of a fresh pool is enough to pin the field names.
    const pool = mysql.createPool({ host: '127.0.0.1', port: 1, connectionLimit: 7 });
    try {
      expect(readMysql2PoolState(pool)).toEqual({ total: 7, active: 0, idle: 0, waiting: 0, open: 0 });
    } finally {
      await new Promise((resolve) => pool.end(resolve));
    }
  });

  it('counts from the fields: open − idle are active; queued getConnection calls are waiting', () => {
    const fake = {
      _allConnections: { length: 5 },
      _freeConnections: { length: 2 },
      _connectionQueue: { length: 4 },
      config: { connectionLimit: 5 },
    };
    expect(readMysql2PoolState(fake)).toEqual({ total: 5, active: 3, idle: 2, waiting: 4, open: 5 });
  });

  it('returns null, never zeros, when a field is missing', () => {
    expect(
      readMysql2PoolState({ _allConnections: [], _freeConnections: [], config: { connectionLimit: 10 } }),
    ).toBeNull();
    expect(readMysql2PoolState({ _allConnections: [], _freeConnections: [], _connectionQueue: [] })).toBeNull();
    expect(readMysql2PoolState(undefined)).toBeNull();
  });
});
