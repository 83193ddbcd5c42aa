import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { of } from 'rxjs';
import type { Observable } from 'rxjs';
import { Trace } from '../../src/index.js';
import { OtelSpan } from '../peers/otel-span.decorator.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

// Each subject has its own method bodies, so the JIT sees one call site and one target per variant.

export class PlainService {
  add(a: number): number {
    return a + 1;
  }
  async addAsync(a: number): Promise<number> {
    return a + 1;
  }
  obs(a: number): Observable<number> {
    return of(a);
  }
}

export class TracedService {
  @Trace()
  add(a: number): number {
    return a + 1;
  }
  @Trace()
  async addAsync(a: number): Promise<number> {
    return a + 1;
  }
  @Trace()
  obs(a: number): Observable<number> {
    return of(a);
  }
}

export class OtelSpannedService {
  @OtelSpan()
  add(a: number): number {
    return a + 1;
  }
  @OtelSpan()
  async addAsync(a: number): Promise<number> {
    return a + 1;
  }
}

/** The cheapest possible wrapper: the same shape as `@Trace`'s (rest args, `apply`), nothing else. */
function callThrough(original: Method): Method {
  return function (this: unknown, ...args: unknown[]): unknown {
    return original.apply(this, args);
  };
}

export class WrappedService {
  add(a: number): number {
    return a + 1;
  }
  async addAsync(a: number): Promise<number> {
    return a + 1;
  }
}
WrappedService.prototype.add = callThrough(WrappedService.prototype.add as Method) as WrappedService['add'];
WrappedService.prototype.addAsync = callThrough(
  WrappedService.prototype.addAsync as Method,
) as WrappedService['addAsync'];

/** A record of the floor design: a name and two clock readings pushed into the current store's array. */
interface FloorRecord {
  name: string;
  start: number;
  end: number;
}
export interface FloorStore {
  records: FloorRecord[];
}
/** The floor's own storage: `getStore()` + two `performance.now()` + one push, no `run` per call. */
export const floorStorage = new AsyncLocalStorage<FloorStore>();

function floorSync(original: Method, name: string): Method {
  return function (this: unknown, ...args: unknown[]): unknown {
    const store = floorStorage.getStore();
    const start = performance.now();
    const result = original.apply(this, args);
    const end = performance.now();
    store?.records.push({ name, start, end });
    return result;
  };
}

function floorAsync(original: Method, name: string): Method {
  return async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const store = floorStorage.getStore();
    const start = performance.now();
    const result: unknown = await original.apply(this, args);
    const end = performance.now();
    store?.records.push({ name, start, end });
    return result;
  };
}

/**
 * The least any tracer can do to time a native promise: two clock readings and one `then` on the method's own
 * promise. No wrapper `async` function, no context per call (so nested calls could not be told apart).
 */
function thenFloorAsync(original: Method, name: string): Method {
  return function (this: unknown, ...args: unknown[]): unknown {
    const store = floorStorage.getStore();
    const start = performance.now();
    return (original.apply(this, args) as Promise<unknown>).then((value) => {
      store?.records.push({ name, start, end: performance.now() });
      return value;
    });
  };
}

export class FloorService {
  add(a: number): number {
    return a + 1;
  }
  async addAsync(a: number): Promise<number> {
    return a + 1;
  }
}
FloorService.prototype.add = floorSync(FloorService.prototype.add as Method, 'FloorService.add') as FloorService['add'];
FloorService.prototype.addAsync = floorAsync(
  FloorService.prototype.addAsync as Method,
  'FloorService.addAsync',
) as FloorService['addAsync'];

export class ThenFloorService {
  async addAsync(a: number): Promise<number> {
    return a + 1;
  }
}
ThenFloorService.prototype.addAsync = thenFloorAsync(
  ThenFloorService.prototype.addAsync as Method,
  'ThenFloorService.addAsync',
) as ThenFloorService['addAsync'];
