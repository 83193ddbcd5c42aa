import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Controller, Get, Injectable, Module, Query } from '@nestjs/common';
import type {
  CallHandler,
  DynamicModule,
  ExecutionContext,
  MiddlewareConsumer,
  NestInterceptor,
  NestMiddleware,
  NestModule,
  Provider,
} from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { Observable } from 'rxjs';
import { Trace, TraceModule } from '../../src/index.js';
import type { TraceModuleOptions } from '../../src/index.js';
import { setupOtel } from '../peers/otel-setup.js';
import { OtelSpan } from '../peers/otel-span.decorator.js';
import { AWAITING_PARENTS, InventoryRepository, OrdersService, PricingService, decorateServices } from './services.js';

/**
 * `plain` · `als` (bare ALS interceptor) · `als-mw` (bare ALS middleware) · `als-mw-nested` (the same, plus a context
 * per call of the three methods that call others after an `await`: the floor of exact nesting) · `trace` ·
 * `trace-slow` · `otel`, and the diagnostics `trace-root` (TraceModule alone, no `@Trace`: its per-request cost), `trace-root-lean` (the same without
 * the hung sweeper and the OTel bridge), `trace-root-nostall` / `trace-nostall` (TraceModule alone / with `@Trace`, without the blocked-loop watchdog), `trace-root-bare` (no sweeper, bridge, watchdog or log capture), `als-nestmw` (the bare ALS context opened by a Nest class middleware), and `trace-otel` / `trace-otel-sampled` (the OpenTelemetry bridge with `okSampleRate` 1 / 0.01).
 */
const variant = process.argv[2] ?? 'plain';
/** Requests with `?slow=1` sleep this long in `save()`; only `trace-slow` has a threshold below it. */
export const SLOW_SLEEP_MS = 15;

@Controller()
class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Get('orders')
  order(
    @Query('id') id?: string,
    @Query('slow') slow?: string,
  ): Promise<{ id: number; total: number; tags: string[] }> {
    return this.orders.handle(Number(id ?? 1), slow === '1' ? SLOW_SLEEP_MS : 0);
  }
}

/** The floor of the context-carrying design: opens an AsyncLocalStorage context per request, nothing else. */
const bareStorage = new AsyncLocalStorage<{ request: number }>();
let requests = 0;
@Injectable()
class BareAlsInterceptor implements NestInterceptor {
  intercept(_: ExecutionContext, next: CallHandler): Observable<unknown> {
    return new Observable((subscriber) =>
      bareStorage.run({ request: ++requests }, () => next.handle().subscribe(subscriber)),
    );
  }
}

@Injectable()
class BareAlsMiddleware implements NestMiddleware {
  use(_request: unknown, _response: unknown, next: () => void): void {
    bareStorage.run({ request: ++requests }, next);
  }
}

/**
 * The bare floor of a design that nests exactly: each call of a method that calls others after an `await` runs in a
 * context of its own (what TraceModule's frames are for), opened with `run` as TraceModule opens its frames. On Node 24
 * each `run` copies the context frame twice (bench/performance-notes.md), so this is the part of TraceModule's cost
 * that exactness itself sets, whoever implements it.
 */
function nestBareContexts(): void {
  for (const [prototype, key] of AWAITING_PARENTS) {
    const original = (prototype as Record<string, (...args: unknown[]) => unknown>)[key] as (
      ...args: unknown[]
    ) => unknown;
    Object.defineProperty(prototype, key, {
      value: function (this: unknown, ...args: unknown[]): unknown {
        return bareStorage.run({ request: requests }, Reflect.apply, original, this, args);
      },
      writable: true,
      configurable: true,
    });
  }
}

function otelVariant(): Provider[] {
  const { tracer, exporter } = setupOtel();
  setInterval(() => exporter.reset(), 1000).unref();
  // A root span per request (what HTTP instrumentation would give), the ten methods under it.
  @Injectable()
  class OtelInterceptor implements NestInterceptor {
    intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
      const name = `${context.getClass().name}.${context.getHandler().name}`;
      return new Observable((subscriber) =>
        tracer.startActiveSpan(name, (span) =>
          next.handle().subscribe({
            next: (value) => subscriber.next(value),
            error: (error: unknown) => {
              span.end();
              subscriber.error(error);
            },
            complete: () => {
              span.end();
              subscriber.complete();
            },
          }),
        ),
      );
    }
  }
  return [{ provide: APP_INTERCEPTOR, useClass: OtelInterceptor }];
}

/**
 * `TraceModule.forRoot` with `BENCH_TRACE_OPTIONS` (JSON) on top, for A/B runs of an option, e.g.
 * `BENCH_TRACE_OPTIONS='{"blockedThresholdMs":false}'` (documented in bench/performance-notes.md).
 */
function forRoot(options: TraceModuleOptions): DynamicModule {
  const extra = JSON.parse(process.env.BENCH_TRACE_OPTIONS ?? '{}') as TraceModuleOptions;
  return TraceModule.forRoot({ ...options, ...extra });
}

/** What each "TraceModule alone" variant turns off, to see what the root's parts cost per request. */
const ROOT_VARIANTS: Record<string, TraceModuleOptions> = {
  'trace-root': {},
  'trace-root-lean': { hungThresholdMs: 0, otel: { enabled: false } },
  'trace-root-nostall': { blockedThresholdMs: false },
  'trace-root-bare': { hungThresholdMs: 0, otel: { enabled: false }, blockedThresholdMs: false, captureLogs: false },
};

function variantModule(): { imports: DynamicModule[]; providers: Provider[] } {
  switch (variant) {
    case 'plain':
      return { imports: [], providers: [] };
    case 'als-mw':
    case 'als-nestmw':
      return { imports: [], providers: [] };
    case 'als-mw-nested':
      nestBareContexts();
      return { imports: [], providers: [] };
    case 'als':
      return { imports: [], providers: [{ provide: APP_INTERCEPTOR, useClass: BareAlsInterceptor }] };
    case 'trace':
    case 'trace-slow':
    case 'trace-nostall':
      decorateServices((target, key, descriptor) => {
        Trace()(target, key, descriptor);
      });
      // `trace`: nothing is slow enough to report; `trace-slow`: the 1 % of requests that sleep are reported.
      return {
        imports: [
          forRoot({
            slowThresholdMs: variant === 'trace-slow' ? SLOW_SLEEP_MS - 5 : 60_000,
            dataSource: false,
            redis: false,
            ...(variant === 'trace-nostall' ? { blockedThresholdMs: false as const } : {}),
          }),
        ],
        providers: [],
      };
    case 'trace-otel':
    case 'trace-otel-sampled': {
      // Issue 18's pair: the OpenTelemetry bridge exporting every trace, or 1 % of the traces that are fine.
      decorateServices((target, key, descriptor) => {
        Trace()(target, key, descriptor);
      });
      const { exporter } = setupOtel();
      setInterval(() => exporter.reset(), 1000).unref();
      return {
        imports: [
          forRoot({
            slowThresholdMs: 60_000,
            dataSource: false,
            redis: false,
            otel: { enabled: true, okSampleRate: variant === 'trace-otel' ? 1 : 0.01 },
          }),
        ],
        providers: [],
      };
    }
    case 'trace-root':
    case 'trace-root-lean':
    case 'trace-root-nostall':
    case 'trace-root-bare':
      return {
        imports: [forRoot({ slowThresholdMs: 60_000, dataSource: false, redis: false, ...ROOT_VARIANTS[variant] })],
        providers: [],
      };
    case 'otel':
      decorateServices((target, key, descriptor) => OtelSpan()(target, key, descriptor));
      return { imports: [], providers: otelVariant() };
    default:
      throw new Error(`unknown variant ${variant}`);
  }
}

async function main(): Promise<void> {
  const { imports, providers } = variantModule();
  @Module({
    imports,
    controllers: [OrdersController],
    providers: [OrdersService, InventoryRepository, PricingService, ...providers],
  })
  class AppModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      // The same bare context, opened by a Nest middleware (Nest's own per-request middleware machinery included).
      if (variant === 'als-nestmw') consumer.apply(BareAlsMiddleware).forRoutes('*');
    }
  }
  const app = await NestFactory.create(AppModule, { logger: variant === 'trace-slow' ? ['warn', 'error'] : false });
  if (variant === 'als-mw' || variant === 'als-mw-nested') {
    // The bare ALS floor of a design that opens the context before Nest's router (as TraceModule's middleware does).
    app.use((_request: unknown, _response: unknown, next: () => void) =>
      bareStorage.run({ request: ++requests }, next),
    );
  }
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.send?.({ port: address.port });
  process.on('message', (message) => {
    // The runner reads the app's CPU time around each round: CPU per request is what tracing costs the app.
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
    if (message === 'close') void app.close().then(() => process.exit(0));
  });
}

void main();
