/** The local databases the bench and its experiments talk to (`.ci/run` starts them and creates the pg role). */

/** The PostgreSQL database `.ci/postgres-setup.sql` creates; the bench skips its pg pair when it does not answer. */
export const POSTGRES_URL =
  process.env.POSTGRES_URL ?? 'postgres://nestjs_trace:nestjs_trace@127.0.0.1:5432/nestjs_trace_test';

/** TypeORM options of the local MariaDB (root, empty password, database `test`). */
export function mariadbOptions(host = '127.0.0.1', poolSize = 2) {
  return { type: 'mariadb' as const, host, port: 3306, username: 'root', password: '', database: 'test', poolSize };
}

/** TypeORM options of the local PostgreSQL (`POSTGRES_URL`). */
export function postgresOptions(poolSize = 2) {
  return { type: 'postgres' as const, url: POSTGRES_URL, poolSize };
}
