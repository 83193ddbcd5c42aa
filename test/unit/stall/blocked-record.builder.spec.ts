import { fileURLToPath } from 'node:url';
import { ActiveTrace } from '../../../src/context/active-trace.js';
import { TraceFrame } from '../../../src/context/trace-storage.js';
import { formatBlockedText } from '../../../src/report/blocked-text-format.js';
import { resolveOptions } from '../../../src/resolve-options.js';
import { blockedStack, buildBlockedRecord, MAX_BLOCKED_FRAMES } from '../../../src/stall/blocked-record.builder.js';
import type { RawFrame } from '../../../src/stall/blocked-record.builder.js';
import { blockedMsOf, blockEnded, blockStarted } from '../../../src/stall/trace-blocked-time.js';

// A file of the library itself, in the form the inspector gives it (a file: URL under ESM).
const libraryFile = new URL('../../../src/decorators/traced-method.ts', import.meta.url).href;

describe('blocked report building', () => {
  it("keeps the app's frames innermost first, drops the library's, names methods Class.method, turns file URLs into paths", () => {
    const frames: RawFrame[] = [
      { f: 'now', t: 'Performance', u: 'node:internal/perf/performance', l: 138, c: 5 },
      { f: 'generateMap', t: 'GameService', u: 'file:///app/dist/game.service.js', l: 42, c: 13 },
      { f: 'traced', u: libraryFile, l: 10, c: 3 },
      { f: '', u: '/app/dist/main.js', l: 7, c: 1 },
    ];
    expect(blockedStack(frames)).toEqual([
      { function: 'Performance.now', file: 'node:internal/perf/performance', line: 138, column: 5 },
      { function: 'GameService.generateMap', file: '/app/dist/game.service.js', line: 42, column: 13 },
      { function: '(anonymous)', file: '/app/dist/main.js', line: 7, column: 1 },
    ]);
    expect(fileURLToPath(libraryFile)).toMatch(/traced-method\.ts$/);
  });

  it(`keeps at most ${MAX_BLOCKED_FRAMES} frames`, () => {
    const frames = Array.from({ length: 50 }, (_, i) => ({ f: `f${i}`, u: '/app/a.js', l: i + 1, c: 1 }));
    const stack = blockedStack(frames);
    expect(stack).toHaveLength(20);
    expect(stack[0]?.function).toBe('f0');
  });

  it('names the trace and its current span; null outside a trace; text says the same', () => {
    const trace = new ActiveTrace(
      { transport: 'ws', handlerClass: { name: 'GameGateway' }, handlerName: 'createRoom', route: 'createRoom' },
      undefined,
    );
    const span = trace.openSpan('GameService.generateMap', 0);
    const record = buildBlockedRecord(
      {
        blockedMs: 412.345,
        startedAtEpochMs: Date.parse('2026-11-29T13:00:00.000Z'),
        frames: [{ f: 'generateMap', t: 'GameService', u: '/app/game.js', l: 1, c: 2 }],
        stackUnavailable: undefined,
        frame: new TraceFrame(trace, span),
        gc: [{ kind: 'mark-compact', durationMs: 12.1 }],
      },
      undefined,
    );
    expect(record).toEqual({
      type: 'blocked',
      blockedMs: 412.35,
      at: '2026-11-29T13:00:00.000Z',
      stack: [{ function: 'GameService.generateMap', file: '/app/game.js', line: 1, column: 2 }],
      trace: {
        traceId: trace.traceId,
        transport: 'ws',
        handler: 'GameGateway.createRoom',
        route: 'createRoom',
        span: 'GameService.generateMap',
      },
      gc: [{ kind: 'mark-compact', durationMs: 12.1 }],
    });
    const text = formatBlockedText(record);
    expect(text).toContain('BLOCKED 412.4ms');
    expect(text).toContain('span GameService.generateMap');
    expect(text).toContain('  at GameService.generateMap (/app/game.js:1:2)');
    expect(text).toContain('gc 12.1ms during the block: mark-compact 12.1ms');

    const outside = buildBlockedRecord(
      { blockedMs: 300, startedAtEpochMs: 0, frames: undefined, stackUnavailable: 'why', frame: undefined, gc: [] },
      undefined,
    );
    expect(outside).toMatchObject({ trace: null, stack: [], stackUnavailable: 'why' });
    expect(formatBlockedText(outside)).toContain('(no stack: why)');
  });

  it("adds up a trace's blocks; a block still being settled counts up to now", () => {
    const trace = new ActiveTrace({ transport: 'manual', handlerName: 'job' }, undefined);
    expect(blockedMsOf(trace)).toBeUndefined();
    blockStarted(trace, performance.now() - 300);
    expect(blockedMsOf(trace)).toBeGreaterThanOrEqual(300);
    blockEnded(trace, 250);
    blockStarted(trace, performance.now());
    blockEnded(trace, 200);
    expect(blockedMsOf(trace)).toBe(450);
  });
});

describe('option blockedThresholdMs', () => {
  it('defaults to 200, takes numbers and env strings, false or "false" turns it off, and refuses the rest', () => {
    expect(resolveOptions(undefined).blockedThresholdMs).toBe(200);
    expect(resolveOptions({ blockedThresholdMs: 500 }).blockedThresholdMs).toBe(500);
    expect(resolveOptions({ blockedThresholdMs: '300' as unknown as number }).blockedThresholdMs).toBe(300);
    expect(resolveOptions({ blockedThresholdMs: false }).blockedThresholdMs).toBe(false);
    expect(resolveOptions({ blockedThresholdMs: 'false' as unknown as false }).blockedThresholdMs).toBe(false);
    expect(() => resolveOptions({ blockedThresholdMs: 5 })).toThrow(/"blockedThresholdMs"/);
    expect(() => resolveOptions({ blockedThresholdMs: true as unknown as number })).toThrow(/"blockedThresholdMs"/);
  });
});
