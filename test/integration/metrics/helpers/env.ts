/** The shared servers of this machine (and CI): never stopped or paused by these tests. */
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other run uses, for keys, tables and users. */
export const RUN_ID = `nt_metrics_${process.pid}_${Date.now().toString(36)}`;
