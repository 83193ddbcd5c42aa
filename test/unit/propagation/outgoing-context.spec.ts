import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TraceContext, TraceModule } from '../../../src/index.js';
import { withTraceparent } from '../../../src/propagation/traceparent-payload.js';
import { ActiveTrace } from '../../../src/context/active-trace.js';
import { TraceFrame, traceStorage } from '../../../src/context/trace-storage.js';

/** A stand-in with the shape of a `ClientProxy`: records what it was asked to send. */
class FakeClient {
  readonly sent: unknown[] = [];
  send(_pattern: unknown, data: unknown): unknown {
    this.sent.push(data);
    return data;
  }
  emit(_pattern: unknown, data: unknown): unknown {
    this.sent.push(data);
    return data;
  }
  connect(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
  createObserver(): void {}
}

describe('withTraceparent', () => {
  it('adds the running span to a copy of a plain object, and leaves everything else as it is', () => {
    const data = { id: 1 };
    const outside = withTraceparent(data);
    expect(outside).toBe(data);
    TraceContext.run('producer', () => {
      const carried = withTraceparent(data) as { traceparent: string };
      expect(carried).not.toBe(data);
      expect(data).toEqual({ id: 1 });
      // Not sampled by a caller: the consumer decides itself from the trace id, as this service will.
      expect(carried.traceparent).toBe(`00-${TraceContext.current()!.traceId}-${TraceContext.current()!.spanId}-00`);
      const own = { traceparent: 'mine' };
      expect(withTraceparent(own)).toBe(own);
      const list = [1];
      expect(withTraceparent(list)).toBe(list);
      expect(withTraceparent('text')).toBe('text');
      const instance = new Date();
      expect(withTraceparent(instance)).toBe(instance);
    });
  });
});

describe('withTraceparent in a trace whose caller sampled it', () => {
  it('passes the sampled flag on', () => {
    const trace = new ActiveTrace(
      {
        transport: 'http',
        handlerName: 'h',
        parentTraceId: 'a'.repeat(32),
        parentSpanId: 'b'.repeat(16),
        parentSampled: true,
      },
      undefined,
    );
    traceStorage.run(new TraceFrame(trace, 0), () => {
      const carried = withTraceparent({ id: 1 }) as { traceparent: string };
      expect(carried.traceparent).toMatch(new RegExp(`^00-${'a'.repeat(32)}-[0-9a-f]{16}-01$`));
    });
  });
});

describe('OutgoingContextService', () => {
  it("wraps the app's clients found through DI and restores them when the app closes", async () => {
    const client = new FakeClient();
    @Module({
      imports: [TraceModule.forRoot({ hungThresholdMs: 0 })],
      providers: [{ provide: 'CLIENT', useValue: client }],
    })
    class App {}
    const app = (await Test.createTestingModule({ imports: [App] }).compile()).createNestApplication({
      logger: false,
    });
    await app.init();
    expect(Object.prototype.hasOwnProperty.call(client, 'send')).toBe(true);
    TraceContext.run('producer', () => client.emit('x', { id: 2 }));
    expect(client.sent.at(-1)).toHaveProperty('traceparent');
    await app.close();
    expect(Object.prototype.hasOwnProperty.call(client, 'send')).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(client, 'emit')).toBe(false);
    TraceContext.run('producer', () => client.send('x', { id: 3 }));
    expect(client.sent.at(-1)).toEqual({ id: 3 });
  });

  it('with propagate: false wraps nothing: payloads leave as the app built them', async () => {
    const client = new FakeClient();
    @Module({
      imports: [TraceModule.forRoot({ hungThresholdMs: 0, propagate: false })],
      providers: [{ provide: 'CLIENT', useValue: client }],
    })
    class App {}
    const app = (await Test.createTestingModule({ imports: [App] }).compile()).createNestApplication({
      logger: false,
    });
    await app.init();
    try {
      expect(Object.prototype.hasOwnProperty.call(client, 'send')).toBe(false);
      const data = { id: 4 };
      TraceContext.run('producer', () => client.send('x', data));
      expect(client.sent.at(-1)).toBe(data);
    } finally {
      await app.close();
    }
  });
});
