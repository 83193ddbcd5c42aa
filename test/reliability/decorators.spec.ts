// Decorators: gateway / RPC metadata with @Trace above and below, hostile arguments, and internal failures of the
// logger, the metrics source and listeners, which never reach the app and are logged at most once per interval.
import 'reflect-metadata';
import { BadRequestException, Controller, Get, Injectable, Module } from '@nestjs/common';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { SubscribeMessage } from '@nestjs/websockets';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TraceContext } from '../../src/context/trace-context.js';
import { Trace, TraceModule } from '../../src/index.js';
import { SystemMetricsService } from '../../src/metrics/system-metrics.service.js';
import { buildTraceRecord } from '../../src/report/trace-record.builder.js';
import type { TraceListener } from '../../src/report/trace-listener.js';
import { TRACE_LISTENERS } from '../../src/trace.tokens.js';
import { resolveOptions } from '../../src/resolve-options.js';
import { formatJson } from '../../src/report/json-format.js';
import { formatText } from '../../src/report/text-format.js';
import { CaptureSink } from '../support/capture-sink.js';
import { sleep } from '../support/report-capture.js';
import { keepIdleSockets } from '../support/keep-idle-sockets.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  expect(unhandled).toEqual([]);
});

function metadataOf(fn: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Reflect.getMetadataKeys(fn)) out[String(key)] = Reflect.getMetadata(key, fn);
  return out;
}

describe('A6: @SubscribeMessage / @MessagePattern metadata with @Trace above and below', () => {
  class Plain {
    @SubscribeMessage('createRoom')
    create(_a: unknown, _b: unknown): void {}
    @MessagePattern({ cmd: 'sum' })
    sum(_data: unknown): void {}
  }
  class Above {
    @Trace()
    @SubscribeMessage('createRoom')
    create(_a: unknown, _b: unknown): void {}
    @Trace()
    @MessagePattern({ cmd: 'sum' })
    sum(_data: unknown): void {}
  }
  class Below {
    @SubscribeMessage('createRoom')
    @Trace()
    create(_a: unknown, _b: unknown): void {}
    @MessagePattern({ cmd: 'sum' })
    @Trace()
    sum(_data: unknown): void {}
  }

  it.each([
    ['above', Above],
    ['below', Below],
  ])('@Trace %s: every metadata key and value, name and length survive', (_where, Traced) => {
    for (const key of ['create', 'sum'] as const) {
      const traced = Traced.prototype[key];
      const plain = Plain.prototype[key];
      expect(metadataOf(traced)).toEqual(metadataOf(plain));
      expect(Object.keys(metadataOf(traced)).length).toBeGreaterThan(0);
      expect(traced.name).toBe(plain.name);
      expect(traced.length).toBe(plain.length);
    }
    expect(Reflect.getMetadata('message', Traced.prototype.create)).toBe('createRoom');
    expect(Reflect.getMetadata('websockets:message_mapping', Traced.prototype.create)).toBe(true);
    expect(Reflect.getMetadata('microservices:pattern', Traced.prototype.sum)).toEqual([{ cmd: 'sum' }]);
  });
});

describe('hostile arguments pass through traced methods untouched', () => {
  const sink = new CaptureSink();
  beforeAll(() => void sink.install());
  afterAll(() => sink.uninstall());

  let trapCalls = 0;
  const hostile = new Proxy(
    {},
    new Proxy({} as ProxyHandler<object>, {
      // Every trap of the handler throws (and is counted).
      get: (_target, trap) => () => {
        trapCalls++;
        throw new Error(`trap ${String(trap)}`);
      },
    }),
  );

  @Trace()
  class Sink {
    take(value: unknown): unknown {
      return value;
    }
    count(...values: unknown[]): number {
      return values.length;
    }
    async takeAsync(...values: unknown[]): Promise<unknown[]> {
      await sleep(0);
      return values;
    }
    fail(value: unknown): never {
      throw value;
    }
  }

  it('circular, BigInt, Symbol, 10 MB string, throwing Proxy, null-prototype object → same values, no trap fires', async () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    const big = 2n ** 70n;
    const symbol = Symbol('s');
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const bare = Object.create(null) as Record<string, unknown>;
    bare.password = 'hunter2';
    const throwingGetter = {
      get boom(): never {
        throw new Error('getter read');
      },
      toJSON(): never {
        throw new Error('toJSON called');
      },
    };
    const values: unknown[] = [circular, big, symbol, huge, hostile, bare, throwingGetter];
    const service = new Sink();
    const result = await TraceContext.run('hostile', async () => {
      for (let i = 0; i < 3; i++) expect(service.count(...values)).toBe(values.length); // general and sync paths
      const back = await service.takeAsync(...values);
      back.forEach((value, index) => expect(value).toBe(values[index]));
      expect(trapCalls).toBe(0);
      // Returned (not just passed): the wrapper's Promise / Observable check may run a trap, but never throws it.
      for (const value of values) expect(service.take(value)).toBe(value);
      return 'done';
    });
    expect(result).toBe('done');
    trapCalls = 0;
    expect(circular.self).toBe(circular);
    expect(Object.getPrototypeOf(bare)).toBeNull();
    expect(Object.keys(bare)).toEqual(['password']);

    const record = sink.last();
    const json = formatJson(record);
    expect(json.length).toBeLessThan(100_000); // no argument was captured (not the 10 MB string)
    expect(json).not.toContain('hunter2');
    expect(json.split('\n').filter(Boolean)).toHaveLength(1);
    expect(trapCalls).toBe(0);
  });

  it('a thrown throwing Proxy, null, Symbol or BigInt is rethrown as is and the report still builds', () => {
    const service = new Sink();
    for (const thrown of [hostile, null, undefined, Symbol('t'), 42n, Object.create(null) as object]) {
      let caught: unknown = 'nothing';
      TraceContext.run('throws', () => {
        try {
          service.fail(thrown);
        } catch (error) {
          caught = error;
        }
      });
      expect(caught).toBe(thrown);
      const context = sink.finishedContexts[sink.finishedContexts.length - 1]!;
      const record = buildTraceRecord(context, 'error', undefined, resolveOptions({}));
      expect(() => formatText(record)).not.toThrow();
      expect(formatJson(record).split('\n').filter(Boolean)).toHaveLength(1);
    }
  });
});

describe('failures inside the library never reach the app and are logged at most once per interval', () => {
  @Injectable()
  @Trace()
  class Work {
    async compute(n: number): Promise<number> {
      await sleep(1);
      return n * 2;
    }
  }

  @Controller()
  class WorkController {
    constructor(private readonly work: Work) {}
    @Get('ok')
    async ok(): Promise<{ n: number }> {
      return { n: await this.work.compute(21) };
    }
    @Get('fail')
    fail(): never {
      throw new BadRequestException('bad input');
    }
    @Get('slow')
    async slow(): Promise<{ slow: true }> {
      await sleep(60);
      return { slow: true };
    }
  }

  class ThrowingLogger implements LoggerService {
    calls = 0;
    log(): void {
      this.calls++;
      throw new Error('logger.log broke');
    }
    error(): void {
      this.calls++;
      throw new Error('logger.error broke');
    }
    warn(): void {
      this.calls++;
      throw new Error('logger.warn broke');
    }
  }

  class CountingLogger implements LoggerService {
    readonly lines: string[] = [];
    log(message: unknown): void {
      this.lines.push(String(message));
    }
    error(message: unknown): void {
      this.lines.push(String(message));
    }
    warn(message: unknown): void {
      this.lines.push(String(message));
    }
    internal(where: string): string[] {
      return this.lines.filter((line) => line.startsWith(`nestjs-trace: ${where} failed`));
    }
  }

  async function start(
    logger: LoggerService,
    snapshot: () => Promise<unknown>,
    listener?: Partial<TraceListener>,
  ): Promise<{ app: INestApplication; url: string }> {
    @Module({
      imports: [
        TraceModule.forRoot({
          logger,
          logAll: true,
          slowThresholdMs: 50,
          hungThresholdMs: 0,
          otel: { enabled: false },
        }),
      ],
      controllers: [WorkController],
      providers: [Work],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(SystemMetricsService)
      .useValue({ snapshot })
      // Listeners are registered through DI, like the OpenTelemetry bridge and Prometheus.
      .overrideProvider(TRACE_LISTENERS)
      .useValue(listener ? [{ active: true, finished: () => undefined, ...listener }] : [])
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    keepIdleSockets(app);
    return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
  }

  async function hit(url: string, rounds: number): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      const [ok, fail, slow] = await Promise.all([fetch(`${url}/ok`), fetch(`${url}/fail`), fetch(`${url}/slow`)]);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ n: 42 });
      expect(fail.status).toBe(400);
      expect(await fail.json()).toMatchObject({ message: 'bad input' });
      expect(slow.status).toBe(200);
      expect(await slow.json()).toEqual({ slow: true });
    }
  }

  it('a logger whose log / warn / error throw, a throwing metrics source and a throwing listener: responses unchanged', async () => {
    const logger = new ThrowingLogger();
    const { app, url } = await start(
      logger,
      () => {
        throw new Error('snapshot broke synchronously');
      },
      {
        opened: () => {
          throw new Error('listener.opened broke');
        },
        finished: () => {
          throw new Error('listener.finished broke');
        },
      },
    );
    try {
      await hit(url, 10);
      await sleep(200);
      expect(logger.calls).toBeGreaterThan(0); // the reports were attempted
    } finally {
      await app.close();
    }
  });

  it('a rejecting metrics source and a throwing listener are each logged once over 30 failing calls', async () => {
    const logger = new CountingLogger();
    const { app, url } = await start(logger, () => Promise.reject(new Error('snapshot rejected')), {
      finished: () => {
        throw new Error('listener broke');
      },
    });
    try {
      await hit(url, 10);
      await sleep(200);
      expect(logger.internal('metrics snapshot')).toHaveLength(1);
      expect(logger.internal('trace listener')).toHaveLength(1);
      // The reports themselves still went out, without metrics.
      expect(logger.lines.filter((line) => line.includes('/fail')).length).toBeGreaterThanOrEqual(10);
    } finally {
      await app.close();
    }
  });
});
