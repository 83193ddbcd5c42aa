import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import type { ReportRecord } from './trace.types.js';

/** Which SQL / Redis calls become spans (SQL statements and Redis commands as children of the traced method). */
export interface TraceInstrumentOptions {
  /** Record TypeORM statements of the app's DataSource. @default true */
  typeorm?: boolean;
  /** Record commands of the app's ioredis client. @default true */
  ioredis?: boolean;
  /** `'normalized'`: SQL with literals replaced by `?`; `'none'`: operation only. @default 'normalized' */
  statement?: 'normalized' | 'none';
  /** Put the first key of a Redis command in the span name (`redis GET room:42`). @default true */
  redisKeys?: boolean;
  /** Longest statement kept, in characters. @default 500 */
  maxStatementLength?: number;
}

/** Options of the memory-leak monitor (off unless given). */
export interface TraceMemoryMonitorOptions {
  /** How often the heap is sampled. @default 30000 */
  intervalMs?: number;
  /** Warn when heap use reaches this percent of V8's `heap_size_limit`. @default 85 */
  heapLimitPercent?: number;
  /** Warn when heap-after-GC rose over this many consecutive samples. @default 5 */
  growthSamples?: number;
}

/** OpenTelemetry export: every trace also becomes OTel spans (needs `@opentelemetry/api` and a registered provider). */
export interface TraceOtelOptions {
  /** `true`: require `@opentelemetry/api` (bootstrap error without it); `false`: off. @default on when the package is installed */
  enabled?: boolean;
  /** Name of the OTel tracer. @default 'nestjs-trace' */
  tracerName?: string;
  /**
   * Share of `ok` traces exported (0…1), decided from the trace id so that every service of a distributed trace
   * decides alike. Slow, error and hung traces, traces the event loop was blocked in, and traces whose incoming
   * `traceparent` is sampled, are always exported. @default 1
   */
  okSampleRate?: number;
}

/** Prometheus histograms (needs `prom-client`). */
export interface TracePrometheusOptions {
  /** A prom-client `Registry`. @default prom-client's default `register` */
  registry?: unknown;
  /** Histogram buckets, in seconds. @default [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] */
  buckets?: number[];
  /** Also `nestjs_trace_method_duration_seconds{method}` for every traced method. @default false */
  methods?: boolean;
}

/** `@socket.io/admin-ui` on the gateways' Socket.IO server (needs `@socket.io/admin-ui`). */
export interface TraceSocketIoAdminOptions {
  /**
   * Basic auth of the admin namespace. `password` is plain text or a bcrypt hash (`$2a$…`/`$2b$…`); plain text is
   * hashed at bootstrap. `false` (no auth) is refused unless `NODE_ENV` is `development` or `allowInsecure` is `true`.
   */
  auth: { username: string; password: string } | false;
  /**
   * `'production'`: aggregated stats only; `'development'`: every socket, room and event is sent to the UI. In
   * development mode admin-ui wraps the values of each `socket.data` in Proxies: a `Set`, `Map` or class instance
   * kept there then fails (`Set.prototype.add called on incompatible receiver`); keep such state elsewhere.
   * @default 'production'
   */
  mode?: 'development' | 'production';
  /** Namespace the admin UI connects to. @default '/admin' */
  namespaceName?: string;
  /** Refuse the UI's actions (emit, join, leave, disconnect). @default true */
  readonly?: boolean;
  /** Allow `auth: false` outside `NODE_ENV=development`. @default false */
  allowInsecure?: boolean;
  /**
   * Serve the UI that `@socket.io/admin-ui` ships at this path of the app's own HTTP server (Express or Fastify), e.g.
   * `'/admin-ui'`, with the connection form pre-filled and nothing loaded from outside the machine (icons from
   * `@mdi/font` when installed). `false`: no page (use the hosted UI, which needs CORS; see docs/admin-ui.md).
   * @default false
   */
  serveUi?: string | false;
}

/**
 * CPU profiles taken at the moment of slowness (off unless given): when a handler passes `slowThresholdMs` while still
 * running, or the event loop was blocked, V8's sampling profiler records for `durationMs` and the report gets
 * `profile: { file, top }`. See docs/stalls.md.
 */
export interface TraceProfileOptions {
  /** Directory the `.cpuprofile` files are written to (created when missing). */
  dir: string;
  /** How long each profile records, in ms. @default 1000 */
  durationMs?: number;
  /** At most this many profiles per hour (never two at once). @default 6 */
  maxPerHour?: number;
}

/** Options of `TraceModule.forRoot` / `forRootAsync`. */
export interface TraceModuleOptions {
  /** A handler at or above this duration is reported as `slow`. @default 1000 */
  slowThresholdMs?: number;
  /** Report every handler (`outcome: "ok"` for fast ones). @default false */
  logAll?: boolean;
  /** `'text'`: an indented tree through `logger`; `'json'`: one JSON line per report on `stream`. @default 'text' */
  format?: 'text' | 'json';
  /** Where JSON lines go (`format: 'json'`): any object with `write(line)`, e.g. a file stream. @default process.stdout */
  stream?: { write(line: string): unknown };
  /**
   * Called with every report, whatever the format: the same object the JSON line holds (forward it to your own
   * logger or alerting). Called after the report is written; a callback that throws is logged and never breaks the app.
   */
  // A method signature on purpose: callbacks typed `(record: TraceRecord) => void` (before blocked reports existed)
  // still compile, as method parameters are checked bivariantly.
  onReport?(record: ReportRecord): void;
  /** Spans kept per trace; the rest are counted in `droppedSpans`. @default 1000 */
  maxSpans?: number;
  /** Timeout of each metrics probe (probes run in parallel). @default 500 */
  metricsTimeoutMs?: number;
  /**
   * TypeORM `DataSource` DI token, or `false` for none. Default: the app's default DataSource if it has one.
   * Every DataSource in the app's DI container is recorded (SQL spans); this one is the first one the metrics
   * snapshot looks at (`metrics.mysql` / `metrics.postgres` read the first DataSource of their kind).
   */
  dataSource?: unknown;
  /**
   * ioredis client DI token, or `false` for none.
   * Default: the `@nestjs-modules/ioredis` default connection if the app has one.
   */
  redis?: unknown;
  /** Where text reports go. @default new Logger('Trace') */
  logger?: LoggerService;
  /**
   * A handler still running after this long is reported once as `hung`, with its partial tree.
   * `0` turns it off. @default 5 × slowThresholdMs
   */
  hungThresholdMs?: number;
  /** SQL and Redis spans. */
  instrument?: TraceInstrumentOptions;
  /** Memory-leak monitor; off by default. */
  memoryMonitor?: TraceMemoryMonitorOptions;
  /** Longest error stack kept in a report, in characters. @default 4000 */
  maxStackLength?: number;
  /**
   * Errors that are part of normal operation: a handler that throws one is reported by its duration (`slow` / `ok`),
   * not as `error`. E.g. `(e) => e instanceof HttpException && e.getStatus() < 500`. Must not throw.
   * @default every thrown value is an error
   */
  ignoreErrors?: (error: unknown) => boolean;
  /**
   * Serve `@socket.io/admin-ui` on the Socket.IO server of the app's gateways (found through their
   * `@WebSocketServer()` property, a `Server` or a `Namespace`); off unless given.
   */
  socketIoAdmin?: TraceSocketIoAdminOptions;
  /** OpenTelemetry export. @default on when `@opentelemetry/api` is installed and a tracer provider is registered */
  otel?: TraceOtelOptions;
  /** Prometheus histograms; off unless given (`prometheus: {}` for the defaults). */
  prometheus?: TracePrometheusOptions;
  /**
   * This many or more statements with the same normalized text under one parent span are an N+1 finding (the trace is
   * reported even when fast, at most once per handler per minute). `0` turns it off. @default 5
   */
  nPlusOneThreshold?: number;
  /**
   * Nest `Logger` calls made inside a trace (`log`, `warn`, `error`, `debug`, `verbose`, `fatal`; static or instance,
   * whatever logger `app.useLogger` installed) become notes of the current span: `"WARN [Context] message"`.
   * @default true
   */
  captureLogs?: boolean;
  /**
   * Outgoing trace context: inside a trace, the app's `ClientProxy.send` / `emit` payloads and BullMQ `Queue.add` /
   * `addBulk` job data get a `traceparent` field, so the consumer's report has this trace's id. `false` sends them
   * unchanged (for consumers that reject unknown fields); incoming `traceparent`s are still read. @default true
   */
  propagate?: boolean;
  /**
   * A watchdog thread reports every event-loop block of at least this many ms (`{"type":"blocked"}`, with the
   * JavaScript stack read while the loop was stuck); `false` turns it off. See docs/stalls.md. @default 200
   */
  blockedThresholdMs?: number | false;
  /**
   * Record a CPU profile (`<dir>/<traceId>.cpuprofile`) when a handler passes `slowThresholdMs` while still running,
   * or after the event loop was blocked; its report gets `profile: { file, top }` (the ten functions with the most
   * self time). Off unless given. See docs/stalls.md.
   */
  profile?: TraceProfileOptions;
}

export const {
  ConfigurableModuleClass: ConfigurableTraceModule,
  MODULE_OPTIONS_TOKEN: TRACE_RAW_OPTIONS,
  OPTIONS_TYPE: TRACE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: TRACE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<TraceModuleOptions>({ moduleName: 'Trace' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
