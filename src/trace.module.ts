import { Inject, Module, Optional } from '@nestjs/common';
import type { DynamicModule, MiddlewareConsumer, NestModule, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, HttpAdapterHost } from '@nestjs/core';
import { defaultSink } from './context/default-sink.js';
import { SocketIoAdminService } from './admin/socket-io-admin.service.js';
import { AppConnections } from './connections/app-connections.service.js';
import { QueryInstrumentationService } from './instrumentation/query-instrumentation.service.js';
import { OutgoingContextService } from './propagation/outgoing-context.service.js';
import type { EntryPoint } from './entry/entry-point.js';
import { bindEntryPoints } from './entry/entry-points.explorer.js';
import { cronEntryPoint } from './entry/cron.entry.js';
import { eventEntryPoint } from './entry/event.entry.js';
import { queueEntryPoint } from './entry/queue.entry.js';
import { applyHttpEntry, httpEntryPoint, TraceMiddleware } from './entry/http.entry.js';
import { rpcEntryPoint } from './entry/rpc.entry.js';
import { TraceInterceptor } from './entry/trace.interceptor.js';
import { wsEntryPoint } from './entry/ws.entry.js';
import { LogCaptureService } from './logs/log-capture.service.js';
import { MemoryMonitorService } from './metrics/memory-monitor.service.js';
import { SystemMetricsService } from './metrics/system-metrics.service.js';
import { OtelBridge } from './otel/otel-bridge.js';
import { PrometheusMetrics } from './prometheus/prometheus-metrics.js';
import { StallWatchdog } from './stall/stall-watchdog.js';
import { CpuProfiler } from './profile/cpu-profiler.js';
import { FailureLog } from './report/failure-log.js';
import type { TraceListener } from './report/trace-listener.js';
import { TraceReporter } from './report/trace-reporter.js';
import { ReportOutput } from './output/report-output.js';
import { resolveOptions } from './resolve-options.js';
import {
  ConfigurableTraceModule,
  TRACE_ASYNC_OPTIONS_TYPE,
  TRACE_OPTIONS_TYPE,
  TRACE_RAW_OPTIONS,
} from './trace.options.js';
import type { TraceModuleOptions } from './trace.options.js';
import {
  TRACE_ENTRY_BINDING,
  TRACE_ENTRY_POINTS,
  TRACE_LISTENERS,
  TRACE_METRICS_SOURCE,
  TRACE_OPTIONS,
} from './trace.tokens.js';

/**
 * Import once (global unless `isGlobal: false`): traces every HTTP, WebSocket and RPC handler, records `@Trace` calls under them,
 * and reports slow and failing ones with a machine snapshot.
 */
// Global unless `isGlobal: false` (the ConfigurableModuleBuilder extra in trace.options.ts): tracing itself works
// either way; `isGlobal` decides whether every module can inject SystemMetricsService and TraceInterceptor.
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: TRACE_OPTIONS,
      useFactory: (options: TraceModuleOptions) => resolveOptions(options),
      inject: [TRACE_RAW_OPTIONS],
    },
    AppConnections,
    QueryInstrumentationService,
    OutgoingContextService,
    SystemMetricsService,
    MemoryMonitorService,
    SocketIoAdminService,
    { provide: TRACE_METRICS_SOURCE, useExisting: SystemMetricsService },
    FailureLog,
    ReportOutput,
    CpuProfiler,
    TraceReporter,
    OtelBridge,
    PrometheusMetrics,
    LogCaptureService,
    StallWatchdog,
    {
      provide: TRACE_LISTENERS,
      useFactory: (...listeners: TraceListener[]) => listeners,
      inject: [OtelBridge, PrometheusMetrics],
    },
    // Exported for apps that bind it themselves; not registered globally (see entry/http.entry.ts).
    TraceInterceptor,
    TraceMiddleware,
    {
      // Every transport, in the order a method is offered to them (a controller method with a message pattern is an
      // RPC handler, not an HTTP one). Adding a transport is a file in src/entry/ and a line here.
      provide: TRACE_ENTRY_POINTS,
      useFactory: (interceptor: TraceInterceptor): EntryPoint[] => [
        rpcEntryPoint(interceptor),
        httpEntryPoint(),
        wsEntryPoint(interceptor),
        cronEntryPoint(),
        eventEntryPoint(),
        queueEntryPoint(),
      ],
      inject: [TraceInterceptor],
    },
    {
      // A factory provider that nothing injects, on purpose: Nest runs it while it creates providers, which is before
      // `app.init()` binds routes, gateways and message handlers to the methods on their classes' prototypes. The
      // handlers must be wrapped by then; an `onModuleInit` hook would be too late for some of them.
      provide: TRACE_ENTRY_BINDING,
      useFactory: (discovery: DiscoveryService, entryPoints: EntryPoint[], reporter: TraceReporter) =>
        bindEntryPoints(
          { controllers: discovery.getControllers(), providers: discovery.getProviders() },
          entryPoints,
          () => reporter,
        ),
      inject: [DiscoveryService, TRACE_ENTRY_POINTS, TraceReporter],
    },
  ],
  exports: [TRACE_OPTIONS, TraceInterceptor, SystemMetricsService, TraceReporter],
})
export class TraceModule extends ConfigurableTraceModule implements NestModule, OnModuleInit, OnModuleDestroy {
  constructor(
    @Inject(TraceReporter) private readonly reporter: TraceReporter,
    @Inject(TraceMiddleware) private readonly middleware: TraceMiddleware,
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
  ) {
    super();
  }

  /** Registers the module; options are validated at bootstrap. */
  static override forRoot(options: typeof TRACE_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /** Registers the module with options from a factory (e.g. `ConfigService`). */
  static override forRootAsync(options: typeof TRACE_ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }

  /** HTTP requests get their trace before Nest's router: guards and exception filters run inside it. */
  configure(consumer: MiddlewareConsumer): void {
    applyHttpEntry(consumer, this.adapterHost, this.middleware);
  }

  onModuleInit(): void {
    // `TraceContext.run` outside handlers reports through the running app's reporter.
    defaultSink.current = this.reporter;
  }

  onModuleDestroy(): void {
    if (defaultSink.current === this.reporter) defaultSink.current = undefined;
  }
}
