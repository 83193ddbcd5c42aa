import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TraceContext, TraceModule } from '../../../src/index.js';
import { withTraceparent } from '../../../src/propagation/traceparent-payload.js';

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
      expect(carried.traceparent).toBe(`00-${TraceContext.current()!.traceId}-${TraceContext.current()!.spanId}-01`);
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
});
