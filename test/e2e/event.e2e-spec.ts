import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { Trace, TraceContext, TraceModule } from '../../src/index.js';
import { ReportCapture, sleep, tree } from '../support/report-capture.js';

const capture = new ReportCapture();

class ListenerFailed extends Error {}

interface Room {
  id: number;
}

@Trace()
@Injectable()
class Lobby {
  announce(room: Room): Promise<void> {
    TraceContext.current()?.addLog(`room ${room.id}`);
    return sleep(30);
  }
}

@Injectable()
class RoomListeners {
  failure: ListenerFailed | undefined;
  /** Trace id each detached listener run saw, by room id. */
  readonly detached = new Map<number, string | undefined>();
  constructor(private readonly lobby: Lobby) {}

  @OnEvent('room.created')
  async created(room: Room): Promise<string> {
    await this.lobby.announce(room);
    return `announced ${room.id}`;
  }

  @OnEvent('match.*')
  anyMatch(): number {
    return 7;
  }

  @OnEvent('room.closed', { async: true })
  closed(room: Room): void {
    this.detached.set(room.id, TraceContext.current()?.traceId);
  }

  @OnEvent('room.broken', { suppressErrors: false })
  broken(): never {
    this.failure = new ListenerFailed('listener failed');
    throw this.failure;
  }
}

@Module({
  imports: [
    EventEmitterModule.forRoot({ wildcard: true }),
    TraceModule.forRoot({ stream: capture, format: 'json', logAll: true, hungThresholdMs: 0 }),
  ],
  providers: [Lobby, RoomListeners],
})
class EventsApp {}

describe('event transport: @OnEvent of a real EventEmitterModule', () => {
  let app: INestApplication;
  let emitter: EventEmitter2;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [EventsApp] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    emitter = app.get(EventEmitter2);
  });

  afterAll(async () => {
    await app.close();
  });

  beforeEach(() => capture.clear());

  it('opens a trace per event emitted outside a trace: 20 concurrent ones, each with exactly its own tree', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, id) => emitter.emitAsync('room.created', { id })));
    expect(results.map((result) => result[0])).toEqual(Array.from({ length: 20 }, (_, id) => `announced ${id}`));
    const reports = await capture.waitFor((r) => r.handler === 'RoomListeners.created', 20);
    expect(new Set(reports.map((r) => r.traceId)).size).toBe(20);
    expect(new Set(reports.map((r) => r.spans[1]?.logs?.[0]))).toEqual(
      new Set(Array.from({ length: 20 }, (_, id) => `room ${id}`)),
    );
    for (const report of reports) {
      expect(report).toMatchObject({ transport: 'event', route: 'room.created' });
      // `ok`, or `slow` when the loaded test process blocked its loop for over a second meanwhile; never an error.
      expect(['ok', 'slow']).toContain(report.outcome);
      expect(tree(report)).toEqual(['RoomListeners.created', '  Lobby.announce']);
    }
  });

  it('names a wildcard listener after its pattern, and keeps a sync listener sync', async () => {
    expect(emitter.emit('match.finished')).toBe(true);
    expect(app.get(RoomListeners).anyMatch()).toBe(7);
    const [report] = await capture.waitFor((r) => r.handler === 'RoomListeners.anyMatch');
    expect(report).toMatchObject({ transport: 'event', route: 'match.*', outcome: 'ok' });
  });

  it('records a listener emitted inside a trace as a child span of the emitting span', async () => {
    const traceId = await TraceContext.run('POST /rooms', async () => {
      await emitter.emitAsync('room.created', { id: 99 });
      return TraceContext.current()?.traceId;
    });
    const [request] = await capture.waitFor((r) => r.handler === 'POST /rooms');
    expect(request!.traceId).toBe(traceId);
    expect(tree(request!)).toEqual(['POST /rooms', '  RoomListeners.created', '    Lobby.announce']);
    await sleep(100);
    expect(capture.reports.filter((r) => r.handler === 'RoomListeners.created')).toEqual([]);
  });

  it('gives an { async: true } listener a trace of its own even when emitted inside a trace', async () => {
    const traceId = TraceContext.run('POST /rooms/close', () => {
      emitter.emit('room.closed', { id: 5 });
      return TraceContext.current()?.traceId;
    });
    const [detached] = await capture.waitFor((r) => r.handler === 'RoomListeners.closed');
    expect(detached).toMatchObject({ transport: 'event', route: 'room.closed', outcome: 'ok' });
    expect(detached!.traceId).toBe(app.get(RoomListeners).detached.get(5));
    expect(detached!.traceId).not.toBe(traceId);
    const [request] = await capture.waitFor((r) => r.handler === 'POST /rooms/close');
    expect(tree(request!)).toEqual(['POST /rooms/close']);
  });

  it('reports a throwing listener as an error, and the emitter gets the very same error', async () => {
    await expect(emitter.emitAsync('room.broken')).rejects.toBe(app.get(RoomListeners).failure ?? 'not thrown');
    const [report] = await capture.waitFor((r) => r.handler === 'RoomListeners.broken');
    expect(report).toMatchObject({ transport: 'event', route: 'room.broken', outcome: 'error' });
    expect(report!.error).toMatchObject({ name: 'ListenerFailed', message: 'listener failed' });
  });
});
