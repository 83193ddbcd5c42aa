/** The shared servers of this machine (and CI): never stopped or paused by these tests. */
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other run uses, for keys, tables and users. */
export const RUN_ID = `nt_metrics_${process.pid}_${Date.now().toString(36)}`;
/** The PostgreSQL role and database `.ci/run` creates (`postgres_setup`). */
export const POSTGRES_URL =
  process.env.POSTGRES_URL ?? 'postgres://nestjs_trace:nestjs_trace@127.0.0.1:5432/nestjs_trace_test';
/** A role `.ci/run` creates without `pg_read_all_stats`: it cannot see other roles' sessions in pg_stat_activity. */
export const POSTGRES_NOSTATS_URL =
  process.env.POSTGRES_NOSTATS_URL ??
  'postgres://nestjs_trace_nostats:nestjs_trace_nostats@127.0.0.1:5432/nestjs_trace_test';
