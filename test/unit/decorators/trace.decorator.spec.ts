import 'reflect-metadata';
import { Controller, Get, Post, SetMetadata, UseGuards } from '@nestjs/common';
import type { CanActivate } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { SubscribeMessage } from '@nestjs/websockets';
import { BehaviorSubject, firstValueFrom, Observable, ReplaySubject, throwError, timer, map, Subject } from 'rxjs';
import { TraceContext } from '../../../src/context/trace-context.js';
import { NoTrace } from '../../../src/decorators/no-trace.decorator.js';
import { Trace } from '../../../src/decorators/trace.decorator.js';
import { CaptureSink } from '../../support/capture-sink.js';
import { currentTrace } from '../../support/current-trace.js';

class AllowGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

const sink = new CaptureSink();
beforeEach(() => {
  sink.finishedContexts.length = 0;
  sink.install();
});
afterEach(() => sink.uninstall());

const spanNames = () => sink.last().spans.map((s) => `${'  '.repeat(s.depth)}${s.name}`);

describe('@Trace keeps what Nest reads from the method', () => {
  @Controller('rooms')
  @Trace()
  class ClassLevelController {
    @Get(':id')
    @SetMetadata('roles', ['admin'])
    @UseGuards(AllowGuard)
    find(_id: string, _extra: number): string {
      return 'x';
    }
    @SubscribeMessage('createRoom')
    create(): void {}
    @MessagePattern({ cmd: 'sum' })
    sum(): void {}
  }

  class MethodBelow {
    @Post('a')
    @Trace()
    below(_a: string): void {}
  }

  class MethodAbove {
    @Trace()
    @Post('b')
    @SetMetadata('roles', ['user'])
    above(_a: string, _b: string): void {}
  }

  it('copies every metadata key (class decorator), keeps name and length', () => {
    const fn = ClassLevelController.prototype.find;
    expect(Reflect.getMetadata('path', fn)).toBe(':id');
    expect(Reflect.getMetadata('method', fn)).toBe(0);
    expect(Reflect.getMetadata('roles', fn)).toEqual(['admin']);
    expect(Reflect.getMetadata('__guards__', fn)).toEqual([AllowGuard]);
    expect(Reflect.getMetadata('message', ClassLevelController.prototype.create)).toBe('createRoom');
    expect(Reflect.getMetadata('websockets:message_mapping', ClassLevelController.prototype.create)).toBe(true);
    expect(Reflect.getMetadata('microservices:pattern', ClassLevelController.prototype.sum)).toEqual([{ cmd: 'sum' }]);
    expect(fn.name).toBe('find');
    expect(fn.length).toBe(2);
    expect(Reflect.getMetadata('design:paramtypes', ClassLevelController.prototype, 'find')).toEqual([String, Number]);
  });

  it('keeps metadata whichever order the method decorators are written in', () => {
    expect(Reflect.getMetadata('path', MethodBelow.prototype.below)).toBe('a');
    expect(Reflect.getMetadata('path', MethodAbove.prototype.above)).toBe('b');
    expect(Reflect.getMetadata('roles', MethodAbove.prototype.above)).toEqual(['user']);
    expect(MethodAbove.prototype.above.name).toBe('above');
    expect(MethodAbove.prototype.above.length).toBe(2);
  });
});

describe('@Trace keeps the return type and the error', () => {
  @Trace()
  class Service {
    add(a: number, b: number): number {
      return a + b;
    }
    fail(error: unknown): never {
      throw error;
    }
    async later(value: object): Promise<object> {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return value;
    }
    async reject(error: unknown): Promise<never> {
      await Promise.resolve();
      throw error;
    }
    lazy(thenable: object): object {
      return thenable;
    }
    stream(counter: { n: number }): Observable<number> {
      return timer(100).pipe(map(() => ++counter.n));
    }
    broken(): Observable<never> {
      return throwError(() => new Error('stream broke'));
    }
  }
  const service = new Service();

  it('a sync method stays sync, inside and outside a trace', () => {
    expect(service.add(1, 2)).toBe(3);
    const inside = TraceContext.run('root', () => service.add(2, 3));
    expect(inside).toBe(5);
    expect(spanNames()).toEqual(['root', '  Service.add']);
  });

  it.each([new Error('boom'), null, undefined, 'text', 42])('rethrows the very same thrown value (%p)', (thrown) => {
    let caught: unknown = 'not thrown';
    TraceContext.run('root', () => {
      try {
        service.fail(thrown);
      } catch (error) {
        caught = error;
      }
    });
    expect(caught).toBe(thrown);
    expect(sink.last().spans[1]?.error).toBeDefined();
  });

  it('resolves to the same value and rejects with the same object', async () => {
    const value = {};
    const error = new Error('nope');
    await TraceContext.run('root', async () => {
      expect(await service.later(value)).toBe(value);
      await expect(service.reject(error)).rejects.toBe(error);
    });
    const spans = sink.last().spans;
    expect(spans.map((s) => s.name)).toEqual(['root', 'Service.later', 'Service.reject']);
    expect(spans[1]?.durationMs).toBeGreaterThanOrEqual(4);
    expect(spans[2]?.error).toBe('nope');
  });

  it('never calls then() of a foreign thenable', () => {
    let calls = 0;
    const thenable = { then: () => calls++ };
    const result = TraceContext.run('root', () => service.lazy(thenable));
    expect(result).toBe(thenable);
    expect(calls).toBe(0);
  });

  it('times an Observable per subscription, from subscription to completion, and stays lazy', async () => {
    const counter = { n: 0 };
    await TraceContext.run('root', async () => {
      const stream = service.stream(counter);
      expect(stream).toBeInstanceOf(Observable);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(counter.n).toBe(0);
      await firstValueFrom(stream);
      await firstValueFrom(stream);
    });
    expect(counter.n).toBe(2);
    const spans = sink.last().spans.filter((s) => s.name === 'Service.stream');
    expect(spans).toHaveLength(2);
    for (const span of spans) expect(span.durationMs).toBeGreaterThanOrEqual(90);
    // Timed from subscription: the 50 ms before subscribing are not counted.
    expect(spans[0]!.durationMs).toBeLessThan(140 + 300);
    expect(spans[0]!.startMs).toBeGreaterThanOrEqual(45);
  });

  it('records an Observable error and a cancelled subscription', async () => {
    await TraceContext.run('root', async () => {
      await expect(firstValueFrom(service.broken())).rejects.toThrow('stream broke');
      const subscription = service.stream({ n: 0 }).subscribe();
      subscription.unsubscribe();
    });
    const spans = sink.last().spans;
    expect(spans[1]).toMatchObject({ name: 'Service.broken', error: 'stream broke' });
    expect(spans[2]).toMatchObject({ name: 'Service.stream', cancelled: true });
  });

  it('returns an Observable from another copy of rxjs as it is, timed to the return, and plain objects and arrays untouched', async () => {
    // Not an instance of our rxjs's Observable: recognised by its shape (`lift` and `subscribe`), as rxjs does.
    class ForeignObservable {
      constructor(private readonly inner: Observable<number>) {}
      lift(): never {
        throw new Error('not used');
      }
      subscribe(observer: { next?: (value: number) => void; complete?: () => void }): { unsubscribe(): void } {
        return this.inner.subscribe(observer);
      }
    }
    class Results {
      @Trace()
      foreign(): ForeignObservable {
        return new ForeignObservable(timer(60).pipe(map(() => 7)));
      }
      @Trace()
      plain(): { subscribe: () => number; lift: () => number } {
        return plainResult;
      }
      @Trace()
      list(): number[] {
        return listResult;
      }
    }
    const plainResult = { subscribe: () => 1, lift: () => 2 };
    const listResult = [1, 2];
    const results = new Results();
    let value: number | undefined;
    await TraceContext.run('root', async () => {
      expect(results.plain()).toBe(plainResult);
      expect(results.list()).toBe(listResult);
      const stream = results.foreign() as unknown as Observable<number>;
      expect(stream).toBeInstanceOf(ForeignObservable);
      expect(Object.getOwnPropertyNames(stream)).toEqual(['inner']);
      value = await firstValueFrom(stream);
    });
    expect(value).toBe(7);
    const spans = sink.last().spans;
    expect(spans.map((s) => s.name)).toEqual(['root', 'Results.plain', 'Results.list', 'Results.foreign']);
    expect(spans[3]!.durationMs).toBeLessThan(50);
  });

  it('hands back the very Promise the method returned, extra properties included, and ends its span first', async () => {
    class Mailer {
      @Trace()
      send(): Promise<string> & { messageId: string } {
        return Object.assign(new Promise<string>((resolve) => setTimeout(() => resolve('sent'), 30)), {
          messageId: 'm-1',
        });
      }
    }
    const mailer = new Mailer();
    let returned: unknown;
    let endedBeforeAwait = false;
    await TraceContext.run('root', async () => {
      const sending = mailer.send();
      returned = sending;
      expect(sending.messageId).toBe('m-1');
      await sending;
      endedBeforeAwait = !Number.isNaN(currentTrace()!.spanEnd(1));
    });
    expect(returned).toBeInstanceOf(Promise);
    expect(endedBeforeAwait).toBe(true);
    expect(sink.last().spans[1]!.durationMs).toBeGreaterThanOrEqual(20);
  });

  it('adds no rejecting copy of a Promise the method already handles (called without await)', async () => {
    const logged: unknown[] = [];
    class Mailer {
      @Trace()
      send(): Promise<void> {
        const sending = Promise.reject(new Error('smtp down'));
        sending.catch((error: unknown) => logged.push(error));
        return sending;
      }
    }
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    // Jest installs its own handler; this one only counts.
    process.on('unhandledRejection', onUnhandled);
    try {
      TraceContext.run('root', () => {
        void new Mailer().send(); // not awaited, as in the repro
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(logged).toHaveLength(1);
    expect(unhandled).toEqual([]);
    expect(sink.last().spans[1]).toMatchObject({ name: 'Mailer.send', error: 'smtp down' });
  });

  it('records nothing outside a trace', async () => {
    service.add(1, 1);
    await service.later({});
    expect(sink.finishedContexts).toHaveLength(0);
    expect(TraceContext.current()).toBeUndefined();
  });
});

describe('@Trace on a class', () => {
  let getterCalls = 0;
  @Trace()
  class Target {
    static staticMethod(): string {
      return 'static';
    }
    get value(): number {
      getterCalls++;
      throw new Error('getter must not run at decoration');
    }
    set value(_v: number) {}
    visible(): string {
      return this.hidden();
    }
    @NoTrace()
    hidden(): string {
      return 'hidden';
    }
    @Trace({ name: 'custom-name' })
    named(): string {
      return 'named';
    }
  }

  it('skips getters, setters, statics and @NoTrace methods, and wraps once', () => {
    expect(getterCalls).toBe(0);
    const descriptor = Object.getOwnPropertyDescriptor(Target.prototype, 'value');
    expect(typeof descriptor?.get).toBe('function');
    expect(Target.staticMethod()).toBe('static');
    const target = new Target();
    TraceContext.run('root', () => {
      target.visible();
      target.named();
      Target.staticMethod();
    });
    expect(spanNames()).toEqual(['root', '  Target.visible', '  custom-name']);
    expect(getterCalls).toBe(0);
  });

  it('keeps descriptor flags', () => {
    const descriptor = Object.getOwnPropertyDescriptor(Target.prototype, 'visible');
    expect(descriptor).toMatchObject({ enumerable: false, writable: true, configurable: true });
  });

  it('names spans after the runtime class and nests super calls', () => {
    @Trace()
    class Base {
      work(): string {
        return 'base';
      }
    }
    @Trace()
    class Derived extends Base {
      override work(): string {
        return `derived+${super.work()}`;
      }
    }
    class Plain extends Base {}
    TraceContext.run('root', () => {
      expect(new Derived().work()).toBe('derived+base');
      new Plain().work();
    });
    expect(spanNames()).toEqual(['root', '  Derived.work', '    Derived.work', '  Plain.work']);
  });

  it('applying @Trace twice does not wrap twice', () => {
    class Twice {
      @Trace()
      @Trace()
      run(): number {
        return 1;
      }
    }
    TraceContext.run('root', () => new Twice().run());
    expect(spanNames()).toEqual(['root', '  Twice.run']);
  });

  it('keeps this for .call and bound methods', () => {
    @Trace()
    class Holder {
      constructor(readonly id: string) {}
      who(): string {
        return this.id;
      }
    }
    const a = new Holder('a');
    const b = new Holder('b');
    TraceContext.run('root', () => {
      expect(a.who.call(b)).toBe('b');
      expect(a.who.bind(a)()).toBe('a');
    });
  });
});

describe('context', () => {
  @Trace()
  class Nested {
    async outer(): Promise<void> {
      await Promise.all([this.left(), this.right()]);
    }
    async left(): Promise<void> {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await this.leaf();
    }
    async right(): Promise<void> {
      await new Promise((resolve) => setImmediate(resolve));
      await this.leaf();
    }
    async leaf(): Promise<void> {
      await Promise.resolve();
    }
  }

  it('puts concurrent children under the right parent', async () => {
    await TraceContext.run('root', () => new Nested().outer());
    const spans = sink.last().spans;
    const byName = spans.map((s) => [s.name, s.depth]);
    expect(byName).toEqual([
      ['root', 0],
      ['Nested.outer', 1],
      ['Nested.left', 2],
      ['Nested.right', 2],
      ['Nested.leaf', 3],
      ['Nested.leaf', 3],
    ]);
  });

  it('caps spans at maxSpans and counts the rest', () => {
    const small = new CaptureSink(50).install();
    @Trace()
    class Many {
      one(): void {}
    }
    const many = new Many();
    TraceContext.run('root', () => {
      for (let i = 0; i < 10_000; i++) many.one();
    });
    const record = small.last();
    expect(record.spans).toHaveLength(50);
    expect(record.droppedSpans).toBe(10_000 - 49);
    small.uninstall();
  });

  it('gives a 32-hex trace id, addLog notes on the current span, and nothing after the run', async () => {
    let id = '';
    @Trace()
    class Logs {
      note(): void {
        TraceContext.current()?.addLog('cache miss');
      }
    }
    await TraceContext.run('root', async () => {
      const context = TraceContext.current();
      id = context?.traceId ?? '';
      new Logs().note();
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(TraceContext.current()?.traceId).toBe(id);
      expect(context?.elapsedMs).toBeGreaterThan(0);
    });
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(sink.last().traceId).toBe(id);
    expect(sink.last().spans[1]?.logs).toEqual(['cache miss']);
    expect(TraceContext.current()).toBeUndefined();
  });

  it('hands back the very Subject, BehaviorSubject, ReplaySubject or Observable subclass, timed to the return', () => {
    class Tagged<T> extends Observable<T> {
      readonly tag = 'mine';
    }
    const subject = new Subject<string>();
    const state = new BehaviorSubject(41);
    const history = new ReplaySubject<number>(1);
    const tagged = new Tagged<number>((subscriber) => subscriber.complete());
    class Channels {
      @Trace()
      channel(): Subject<string> {
        return subject;
      }
      @Trace()
      state(): BehaviorSubject<number> {
        return state;
      }
      @Trace()
      history(): ReplaySubject<number> {
        return history;
      }
      @Trace()
      tagged(): Tagged<number> {
        return tagged;
      }
    }
    const channels = new Channels();
    const seen: string[] = [];
    TraceContext.run('root', () => {
      const channel = channels.channel();
      expect(channel).toBe(subject);
      channel.subscribe((value) => seen.push(value));
      channel.next('hello');
      expect(channels.state()).toBe(state);
      expect(channels.state().value).toBe(41);
      channels.state().next(42);
      expect(channels.history()).toBe(history);
      channels.history().next(1);
      expect(channels.tagged()).toBe(tagged);
      expect(channels.tagged().tag).toBe('mine');
    });
    expect(seen).toEqual(['hello']);
    expect(state.value).toBe(42);
    for (const object of [subject, state, history, tagged])
      expect(Object.getOwnPropertyNames(object)).not.toContain('subscribe');
    expect(sink.last().spans.map((s) => s.name)).toEqual([
      'root',
      'Channels.channel',
      'Channels.state',
      'Channels.state',
      'Channels.state',
      'Channels.history',
      'Channels.history',
      'Channels.tagged',
      'Channels.tagged',
    ]);
  });

  it('a plain Observable is the same object, enumerates as before, and times each traced call to its own span', async () => {
    const shared = timer(30).pipe(map(() => 1));
    const keys = Object.keys(shared);
    class Feed {
      @Trace()
      feed(): Observable<number> {
        return shared;
      }
    }
    const feed = new Feed();
    for (const name of ['first', 'second']) {
      await TraceContext.run(name, async () => {
        const stream = feed.feed();
        expect(stream).toBe(shared);
        await firstValueFrom(stream);
      });
      const record = sink.last();
      expect(record.spans.map((s) => s.name)).toEqual([name, 'Feed.feed']);
      expect(record.spans[1]!.durationMs).toBeGreaterThanOrEqual(20);
    }
    expect(Object.keys(shared)).toEqual(keys);
    // Outside a trace it is subscribed as it always was.
    await expect(firstValueFrom(shared)).resolves.toBe(1);
    expect(sink.finishedContexts).toHaveLength(2);
  });

  it('TraceContext.run keeps a returned plain Observable and ends the trace when it completes', async () => {
    const source = timer(30).pipe(map(() => 5));
    const returned = TraceContext.run('stream-root', () => source);
    expect(returned).toBe(source);
    expect(sink.finishedContexts).toHaveLength(0);
    await expect(firstValueFrom(returned)).resolves.toBe(5);
    expect(sink.last().spans[0]).toMatchObject({ name: 'stream-root' });
    expect(sink.last().durationMs).toBeGreaterThanOrEqual(20);
  });

  it('a hot Subject result still works', () => {
    class Hot {
      @Trace()
      subject(s: Subject<number>): Observable<number> {
        return s;
      }
    }
    const s = new Subject<number>();
    const seen: number[] = [];
    TraceContext.run('root', () => {
      new Hot().subject(s).subscribe((v) => seen.push(v));
    });
    s.next(7);
    expect(seen).toEqual([7]);
  });
});

describe('methods that proved synchronous (run on the caller frame)', () => {
  @Trace()
  class Sync {
    outer(n: number): number {
      return this.inner(n) + this.inner(n);
    }
    inner(n: number): number {
      return n + 1;
    }
    maybeAsync(asyncNow: boolean): number | Promise<number> {
      if (!asyncNow) return 1;
      return new Promise((resolve) => setTimeout(() => resolve(this.inner(2)), 5));
    }
    throws(error: Error): number {
      throw error;
    }
  }

  it('keep exact nesting after they were learned', () => {
    const sync = new Sync();
    TraceContext.run('root', () => {
      for (let i = 0; i < 4; i++) expect(sync.outer(1)).toBe(4);
    });
    const names = spanNames();
    expect(names).toHaveLength(1 + 4 * 3);
    expect(names.slice(-3)).toEqual(['  Sync.outer', '    Sync.inner', '    Sync.inner']);
  });

  it('rethrow the same error and restore the caller frame', () => {
    const sync = new Sync();
    const error = new Error('sync boom');
    TraceContext.run('root', () => {
      for (let i = 0; i < 3; i++) expect(() => sync.throws(error)).toThrow(error);
      sync.inner(1);
    });
    const record = sink.last();
    expect(record.spans.map((s) => [s.name, s.depth])).toEqual([
      ['root', 0],
      ['Sync.throws', 1],
      ['Sync.throws', 1],
      ['Sync.throws', 1],
      ['Sync.inner', 1],
    ]);
    expect(record.spans[3]?.error).toBe('sync boom');
  });

  it('go back to a frame per call once they return a Promise, still timing it', async () => {
    const sync = new Sync();
    await TraceContext.run('root', async () => {
      void sync.maybeAsync(false);
      void sync.maybeAsync(false);
      expect(await sync.maybeAsync(true)).toBe(3);
      expect(await sync.maybeAsync(true)).toBe(3);
    });
    const spans = sink.last().spans;
    const timed = spans.filter((s) => s.name === 'Sync.maybeAsync');
    expect(timed).toHaveLength(4);
    expect(timed[2]!.durationMs).toBeGreaterThanOrEqual(4);
    // After the switch back, the child started by the async call nests under it again.
    expect(spans.map((s) => `${s.depth}:${s.name}`).slice(-2)).toEqual(['1:Sync.maybeAsync', '2:Sync.inner']);
  });
});

describe('async methods that proved quiet (run on the caller frame)', () => {
  @Trace()
  class Quiet {
    async leaf(n: number): Promise<number> {
      await Promise.resolve();
      return n + 1;
    }
    async early(n: number): Promise<number> {
      const value = this.double(n);
      await Promise.resolve();
      return value;
    }
    double(n: number): number {
      return n * 2;
    }
    async late(child: boolean): Promise<number> {
      await Promise.resolve();
      return child ? this.double(1) : 0;
    }
    async lateLog(log: boolean): Promise<void> {
      await Promise.resolve();
      if (log) TraceContext.current()?.addLog('late note');
    }
    async fails(error: Error): Promise<never> {
      await Promise.resolve();
      throw error;
    }
  }

  it('keep exact nesting for what they call before their first await, alone and concurrently', async () => {
    const quiet = new Quiet();
    await TraceContext.run('root', async () => {
      for (let i = 0; i < 4; i++) expect(await quiet.early(i)).toBe(i * 2);
      for (let i = 0; i < 3; i++) expect(await quiet.leaf(i)).toBe(i + 1);
      expect(await Promise.all([quiet.leaf(1), quiet.early(3), quiet.leaf(2)])).toEqual([2, 6, 3]);
    });
    const spans = sink.last().spans;
    expect(spans.map((s) => `${s.depth}:${s.name}`)).toEqual([
      '0:root',
      ...Array.from({ length: 4 }, () => ['1:Quiet.early', '2:Quiet.double']).flat(),
      '1:Quiet.leaf',
      '1:Quiet.leaf',
      '1:Quiet.leaf',
      '1:Quiet.leaf',
      '1:Quiet.early',
      '2:Quiet.double',
      '1:Quiet.leaf',
    ]);
    // Each span still lasts until its promise settled.
    expect(spans.every((s) => Number.isFinite(s.durationMs))).toBe(true);
  });

  it('record a rejection on their span and hand back the same error', async () => {
    const quiet = new Quiet();
    const error = new Error('quiet boom');
    await TraceContext.run('root', async () => {
      for (let i = 0; i < 4; i++) await expect(quiet.fails(error)).rejects.toBe(error);
    });
    const spans = sink.last().spans;
    expect(spans.map((s) => `${s.depth}:${s.name}`)).toEqual(['0:root', ...Array(4).fill('1:Quiet.fails')]);
    expect(spans.slice(1).map((s) => s.error)).toEqual(Array(4).fill('quiet boom'));
  });

  it('take a frame of their own again after a call that was not quiet (only its late work goes to the caller)', async () => {
    const quiet = new Quiet();
    await TraceContext.run('root', async () => {
      await quiet.late(false);
      await quiet.late(false);
      // Proven quiet: this call's child after its await runs on the caller's frame (the documented price)...
      await quiet.late(true);
      // ...and from then on the method has a frame of its own again.
      await quiet.late(true);
      await quiet.late(true);
    });
    expect(spanNames()).toEqual([
      'root',
      '  Quiet.late',
      '  Quiet.late',
      '  Quiet.late',
      '  Quiet.double',
      '  Quiet.late',
      '    Quiet.double',
      '  Quiet.late',
      '    Quiet.double',
    ]);
  });

  it('count a late log as not quiet', async () => {
    const quiet = new Quiet();
    await TraceContext.run('root', async () => {
      await quiet.lateLog(false);
      await quiet.lateLog(false);
      await quiet.lateLog(true);
      await quiet.lateLog(true);
    });
    const spans = sink.last().spans;
    expect(spans.map((s) => s.logs ?? [])).toEqual([['late note'], [], [], [], ['late note']]);
  });
});

describe('arguments reach the method exactly as passed (named up to 4, an array beyond)', () => {
  class Args {
    @Trace()
    seen(...args: unknown[]): string {
      return `${arguments.length}:${args.map(String).join(',')}`;
    }
    @Trace()
    defaults(a = 'A', b = 'B'): string {
      return `${arguments.length}:${a}${b}`;
    }
  }
  const calls: Array<[string, unknown[]]> = [];
  for (let n = 0; n <= 7; n++) calls.push([`${n} arguments`, Array.from({ length: n }, (_, i) => i + 1)]);
  calls.push(['explicit undefined', [undefined, undefined]]);

  it.each(calls)('%s, outside a trace, in a trace and once learned synchronous', (_, args) => {
    const target = new Args();
    const expected = `${args.length}:${args.map(String).join(',')}`;
    expect(target.seen(...args)).toBe(expected);
    const inside = TraceContext.run('root', () => [1, 2, 3].map(() => target.seen(...args)));
    expect(inside).toEqual([expected, expected, expected]);
    expect(sink.last().spans).toHaveLength(4);
  });

  it('keeps default parameters working for missing and undefined arguments', () => {
    const target = new Args();
    expect(
      TraceContext.run('root', () => [
        target.defaults(),
        target.defaults(undefined, 'x'),
        target.defaults('a', 'b'),
        target.defaults(),
      ]),
    ).toEqual(['0:AB', '2:Ax', '2:ab', '0:AB']);
  });
});
