import { AsyncResource } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConnections } from '../connections/app-connections.service.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';
import type { ProbeError, SystemMetrics } from '../trace.types.js';
import { CpuProbe } from './cpu.probe.js';
import { EventLoopProbe } from './event-loop.probe.js';
import { readMemory } from './memory.probe.js';
import { isMysqlDataSource, MysqlProbe } from './mysql.probe.js';
import { isPostgresDataSource, PostgresProbe } from './postgres.probe.js';
import { errorMessage, networkProbeError, probeError } from './probe-error.js';
import { RedisProbe } from './redis.probe.js';
import { withTimeout } from './with-timeout.js';

/**
 * A snapshot younger than this is handed out again instead of asking MySQL and Redis once more: 100 slow calls ending
 * together cost one `SHOW GLOBAL STATUS` and one `INFO`, and a report still describes its own half second.
 */
export const SNAPSHOT_REUSE_MS = 500;

/**
 * Extra time the whole of a probe gets beyond `metricsTimeoutMs`: the MySQL and Redis probes bound their server
 * round trip by `metricsTimeoutMs` themselves (to return the client-side numbers beside the error); this outer bound
 * only catches a probe that hangs anyway.
 */
const OUTER_GRACE_MS = 50;

/**
 * The CPU, memory, event-loop, MySQL, PostgreSQL and Redis snapshot attached to slow, failing and hung reports.
 *
 * CPU and event-loop samplers start with the module (outside any request, timers `unref()`ed) and stop on shutdown,
 * together with the two extra connections the MySQL and Redis probes open lazily (see `MysqlProbe`, `RedisProbe`).
 */
@Injectable()
export class SystemMetricsService implements OnModuleInit, OnApplicationShutdown {
  private readonly cpu = new CpuProbe();
  private readonly eventLoop = new EventLoopProbe();
  /** Created at bootstrap: probes (timers, sockets) run in its async scope, never in the scope of a request. */
  private readonly scope = new AsyncResource('nestjs-trace.metrics');
  private mysql: MysqlProbe | null | undefined;
  private redis: RedisProbe | null | undefined;
  private postgres: PostgresProbe | null | undefined;
  private inFlight: Promise<SystemMetrics> | null = null;
  private last: { startedAt: number; metrics: SystemMetrics } | null = null;

  constructor(
    @Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions,
    private readonly connections: AppConnections,
  ) {}

  onModuleInit(): void {
    // Hooks of one module run in no guaranteed order: make sure the app's connections are known before the first use.
    this.connections.resolve();
    this.scope.runInAsyncScope(() => {
      this.cpu.start();
      this.eventLoop.start();
    });
  }

  /**
   * The last shutdown phase, not `onModuleDestroy`: the reports TraceReporter flushes in that first phase still get
   * their snapshot.
   */
  onApplicationShutdown(): void {
    this.cpu.stop();
    this.eventLoop.stop();
    this.mysqlProbe()?.close();
    this.redisProbe()?.close();
    this.postgresProbe()?.close();
  }

  /**
   * The machine, the event loop, the app's MySQL pool and server, and Redis, right now (`metrics` in docs/report-format.md).
   *
   * Never rejects. Each probe is bounded by `metricsTimeoutMs` and runs in parallel with the others, so a snapshot
   * takes at most about that long. A section is `null` when the app has no such connection, and a `ProbeError`
   * (`{ status, error }`) when it has one that could not be read — never zeros.
   *
   * Concurrent calls share one snapshot, and a snapshot taken less than {@link SNAPSHOT_REUSE_MS} ago is returned
   * again: treat the result as read-only.
   */
  snapshot(): Promise<SystemMetrics> {
    if (this.inFlight) return this.inFlight;
    const now = performance.now();
    if (this.last && now - this.last.startedAt < SNAPSHOT_REUSE_MS) return Promise.resolve(this.last.metrics);
    const inFlight = this.scope.runInAsyncScope(() => this.collect(now));
    this.inFlight = inFlight;
    void inFlight.finally(() => {
      if (this.inFlight === inFlight) this.inFlight = null;
    });
    return inFlight;
  }

  private async collect(startedAt: number): Promise<SystemMetrics> {
    const takenAt = new Date().toISOString();
    const timeoutMs = this.options.metricsTimeoutMs;
    const mysql = this.mysqlProbe();
    const redis = this.redisProbe();
    const postgres = this.postgresProbe();
    const [cpu, memory, eventLoop, mysqlSection, redisSection, postgresSection] = await Promise.all([
      bounded(
        Promise.resolve().then(() => this.cpu.read()),
        timeoutMs,
      ),
      bounded(readMemory(), timeoutMs),
      bounded(this.eventLoop.read(), timeoutMs),
      mysql ? bounded(mysql.read(), timeoutMs + OUTER_GRACE_MS) : null,
      redis ? bounded(redis.read(), timeoutMs + OUTER_GRACE_MS) : null,
      postgres ? bounded(postgres.read(), timeoutMs + OUTER_GRACE_MS) : null,
    ]);
    const metrics: SystemMetrics = {
      takenAt,
      cpu,
      memory,
      eventLoop,
      mysql: mysqlSection,
      redis: redisSection,
      postgres: postgresSection,
    };
    this.last = { startedAt, metrics };
    return metrics;
  }

  /** The first MySQL / MariaDB DataSource: the `dataSource` option's (or the default one) when it is one. */
  private mysqlProbe(): MysqlProbe | null {
    if (this.mysql === undefined) {
      const dataSource = this.connections.dataSources.find(isMysqlDataSource);
      this.mysql = dataSource ? new MysqlProbe(dataSource, this.options.metricsTimeoutMs) : null;
    }
    return this.mysql;
  }

  /** The first PostgreSQL DataSource, in the same order. */
  private postgresProbe(): PostgresProbe | null {
    if (this.postgres === undefined) {
      const dataSource = this.connections.dataSources.find(isPostgresDataSource);
      this.postgres = dataSource ? new PostgresProbe(dataSource, this.options.metricsTimeoutMs) : null;
    }
    return this.postgres;
  }

  private redisProbe(): RedisProbe | null {
    if (this.redis === undefined) {
      const client = this.connections.redis;
      this.redis = client ? new RedisProbe(client, this.options.metricsTimeoutMs) : null;
    }
    return this.redis;
  }
}

/** Settles with the probe's value or a `ProbeError`: never rejects, never waits longer than `timeoutMs`. */
async function bounded<T>(work: Promise<T>, timeoutMs: number): Promise<T | ProbeError> {
  try {
    return await withTimeout(work, timeoutMs);
  } catch (error) {
    return networkProbeError(error) ?? probeError('unavailable', errorMessage(error));
  }
}
