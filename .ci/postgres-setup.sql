-- The role and database the tests use (POSTGRES_URL's default in .ci/run), created when missing; run as a superuser
-- by .ci/run and by .github/workflows/ci.yml. nestjs_trace may read every session in pg_stat_activity
-- (pg_read_all_stats), as the metrics.postgres probe needs; nestjs_trace_nostats lacks that right (the probe's
-- `forbidden` test connects as it).
SET client_min_messages = warning;
SELECT 'CREATE ROLE nestjs_trace LOGIN PASSWORD ''nestjs_trace'''
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nestjs_trace') \gexec
SELECT 'CREATE ROLE nestjs_trace_nostats LOGIN PASSWORD ''nestjs_trace_nostats'''
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nestjs_trace_nostats') \gexec
GRANT pg_read_all_stats TO nestjs_trace;
SELECT 'CREATE DATABASE nestjs_trace_test OWNER nestjs_trace'
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'nestjs_trace_test') \gexec
GRANT ALL ON DATABASE nestjs_trace_test TO nestjs_trace_nostats;
