import { Global, Inject, Module, Optional } from '@nestjs/common';
import type { DynamicModule, MiddlewareConsumer, NestModule, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { defaultSink } from './context/trace-context.js';
import { SocketIoAdminService } from './admin/socket-io-admin.service.js';
import { AppConnections } from './connections/app-connections.service.js';
import { QueryInstrumentationService } from './instrumentation/query-instrumentation.service.js';
import { bindHandlers } from './interceptor/handler-binding.js';
import { TraceInterceptor } from './interceptor/trace.interceptor.js';
import { noteFastifyRoutes, TraceMiddleware } from './interceptor/trace.middleware.js';
import type { HttpResponseLike } from './interceptor/trace.middleware.js';
import type { HttpRequestLike } from './interceptor/handler-info.js';
import { MemoryMonitorService } from './metrics/memory-monitor.service.js';
import { SystemMetricsService } from './metrics/system-metrics.service.js';
import { OtelBridge } from './otel/otel-bridge.js';
import { PrometheusMetrics } from './prometheus/prometheus-metrics.js';
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
import { TRACE_GATEWAY_BINDING, TRACE_LISTENERS, TRACE_METRICS_SOURCE, TRACE_OPTIONS } from './trace.tokens.js';

/**
 * Import once (it is global): traces every HTTP, WebSocket and RPC handler, records `@Trace` calls under them,
 * and reports slow and failing ones with a machine snapshot.
 */
@Global()
@Module({
  providers: [
    {
      provide: TRACE_OPTIONS,
      useFactory: (options: TraceModuleOptions) => resolveOptions(options),
      inject: [TRACE_RAW_OPTIONS],
    },
    AppConnections,
    QueryInstrumentationService,
    SystemMetricsService,
    MemoryMonitorService,
    SocketIoAdminService,
    { provide: TRACE_METRICS_SOURCE, useExisting: SystemMetricsService },
    FailureLog,
    ReportOutput,
    TraceReporter,
    OtelBridge,
    PrometheusMetrics,
    {
      provide: TRACE_LISTENERS,
      useFactory: (...listeners: TraceListener[]) => listeners,
      inject: [OtelBridge, PrometheusMetrics],
    },
    // Exported for apps that bind it themselves; not registered globally (see trace.middleware.ts).
    TraceInterceptor,
    TraceMiddleware,
    {
      provide: TRACE_GATEWAY_BINDING,
      useFactory: (modules: ModulesContainer, reporter: TraceReporter, interceptor: TraceInterceptor) =>
        bindHandlers(modules, () => reporter, interceptor),
      inject: [ModulesContainer, TraceReporter, TraceInterceptor],
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
    const adapter = this.adapterHost?.httpAdapter as
      { getType?(): string; use?(handler: unknown): unknown } | undefined;
    if (adapter?.getType?.() === 'express' && typeof adapter.use === 'function') {
      // Straight on Express, without a path: Nest's middleware machinery would add a route match ('*' through
      // path-to-regexp), a WeakSet of handled requests and an exceptions proxy to every request. It runs where Nest
      // would have run it: after `app.use()` middleware of main.ts, before every module's middleware and the router.
      const middleware = this.middleware;
      adapter.use((request: HttpRequestLike, response: HttpResponseLike, next: (error?: unknown) => void) =>
        middleware.use(request, response, next),
      );
      return;
    }
    consumer.apply(TraceMiddleware).forRoutes('*');
    noteFastifyRoutes(this.adapterHost?.httpAdapter);
  }

  onModuleInit(): void {
    // `TraceContext.run` outside handlers reports through the running app's reporter.
    defaultSink.current = this.reporter;
  }

  onModuleDestroy(): void {
    if (defaultSink.current === this.reporter) defaultSink.current = undefined;
  }
}
