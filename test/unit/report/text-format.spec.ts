import { formatJson } from '../../../src/report/json-format.js';
import { formatText } from '../../../src/report/text-format.js';
import type { TraceRecord } from '../../../src/trace.types.js';

const record: TraceRecord = {
  type: 'trace',
  outcome: 'slow',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  transport: 'ws',
  handler: 'GameGateway.handleCreateRoom',
  route: 'createRoom',
  durationMs: 231.44,
  spans: [
    { name: 'GameGateway.handleCreateRoom', depth: 0, startMs: 0, durationMs: 231.44 },
    { name: 'GameService.createRoom', depth: 1, startMs: 0.2, durationMs: 229.8, logs: ['cache miss'] },
    { name: 'GameService.validateRoom', depth: 2, startMs: 0.3, durationMs: 5.1 },
    { name: 'GameService.saveRoom', depth: 2, startMs: 5.5, durationMs: 224, error: 'Room is full' },
    {
      name: 'mysql INSERT',
      depth: 3,
      startMs: 5.6,
      durationMs: 221.7,
      kind: 'db',
      system: 'mysql',
      statement: 'INSERT INTO `room`(`name`) VALUES (?)',
      rows: 1,
    },
  ],
  droppedSpans: 0,
  metrics: {
    takenAt: '2026-11-25T13:00:00.000Z',
    cpu: { processPercent: 12.1, systemPercent: 37, loadAverage: [0.5, 0.4, 0.3], cores: 2 },
    memory: {
      system: { totalMB: 24000, usedMB: 14000, freeMB: 10000, usagePercent: 61 },
      process: { rssMB: 128, heapUsedMB: 65, heapTotalMB: 94, heapLimitMB: 4144, externalMB: 12 },
    },
    eventLoop: { delayP99Ms: 3.2, utilization: 0.41 },
    mysql: {
      pool: { total: 10, active: 10, idle: 0, waiting: 14 },
      server: { status: 'timeout', error: 'timeout after 500 ms' },
    },
    redis: { connectedClients: 3, usedMemoryMB: 1.2, opsPerSec: 812, commandQueueLength: 0 },
  },
};

describe('text format', () => {
  it('prints where an error came from: the frames of the stack under the error line', () => {
    const failed: TraceRecord = {
      ...record,
      outcome: 'error',
      error: {
        name: 'TypeError',
        message: "Cannot read properties of undefined (reading 'push')",
        stack:
          "TypeError: Cannot read properties of undefined (reading 'push')\n" +
          '    at GameService.saveRoom (/app/dist/game.service.js:42:7)\n' +
          '    at async GameGateway.handleCreateRoom (/app/dist/game.gateway.js:17:5)',
      },
    };
    const lines = formatText(failed).split('\n');
    const at = lines.indexOf("error TypeError: Cannot read properties of undefined (reading 'push')");
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 3)).toEqual([
      '  at GameService.saveRoom (/app/dist/game.service.js:42:7)',
      '  at async GameGateway.handleCreateRoom (/app/dist/game.gateway.js:17:5)',
    ]);
  });

  it('prints a header, an aligned indented tree, the failing span and the metrics', () => {
    const lines = formatText(record).split('\n');
    expect(lines[0]).toBe(
      'SLOW 231.4ms  ws createRoom  GameGateway.handleCreateRoom  trace=4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(lines[1]).toMatch(/^GameGateway\.handleCreateRoom +231\.4ms$/);
    expect(lines[2]).toMatch(/^ {2}GameService\.createRoom +229\.8ms {2}» cache miss$/);
    expect(lines[4]).toMatch(/^ {4}GameService\.saveRoom +224\.0ms {2}✗ Room is full$/);
    expect(lines[5]).toMatch(/^ {6}mysql INSERT INTO `room`\(`name`\) VALUES \(\?\) +221\.7ms {2}1 rows$/);
    // Durations end in the same column.
    const ends = lines.slice(1, 6).map((line) => line.indexOf('ms'));
    expect(new Set(ends).size).toBe(1);
    expect(lines[6]).toBe(
      'cpu 37% (process 12%)  mem 61% (rss 128MB, heap 65/94MB of 4144MB)  loop p99 3.2ms  util 0.41',
    );
    expect(lines[7]).toBe(
      'mysql pool 10/10 busy, 14 waiting  server timeout (timeout after 500 ms)  redis 3 clients, 1.2MB, 812 ops/s, queue 0',
    );
  });

  it('folds long runs of the same leaf call', () => {
    const spans = [
      { name: 'Root', depth: 0, startMs: 0, durationMs: 10 },
      ...Array.from({ length: 998 }, (_, i) => ({ name: 'Svc.tick', depth: 1, startMs: i * 0.01, durationMs: 0.01 })),
    ];
    const text = formatText({ ...record, spans, metrics: undefined, droppedSpans: 3 });
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^ {2}Svc\.tick ×998 +10\.0ms {2}max 0\.0ms$/);
    expect(lines[3]).toBe('(3 more spans not recorded: maxSpans)');
  });

  it('JSON is exactly one line, even with newlines in the data', () => {
    const line = formatJson({
      ...record,
      handler: 'a\nb',
      spans: [{ name: 'x\r\ny', depth: 0, startMs: 0, durationMs: 1 }],
    });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toMatch(/[\r\n]/);
    expect(JSON.parse(line)).toMatchObject({ handler: 'a\nb' });
  });
});

describe('text format: database depth', () => {
  const db: TraceRecord = {
    ...record,
    outcome: 'ok',
    spans: [
      { name: 'PlayerController.list', depth: 0, startMs: 0, durationMs: 700 },
      ...[0, 1, 2].map((index) => ({
        name: 'postgresql SELECT',
        depth: 1,
        startMs: 1,
        durationMs: 300 * (index + 1),
        kind: 'db' as const,
        system: 'postgresql' as const,
        statement: 'SELECT pg_sleep(?)',
        rows: 1,
        ...(index === 2 ? { poolWaitMs: 301.4 } : {}),
      })),
    ],
    findings: [
      { kind: 'n+1', parent: 'PlayerService.list', statement: 'SELECT * FROM "p" WHERE "id" = $1', count: 12 },
    ],
    metrics: {
      ...record.metrics!,
      mysql: null,
      redis: null,
      postgres: {
        pool: { total: 4, idle: 1, waiting: 2 },
        server: { connections: 12, active: 3, idleInTransaction: 1, waitingOnLock: 0 },
      },
    },
  };

  it('shows a statement’s pool wait, PostgreSQL statements with their dialect, one line per finding, the pg line', () => {
    const lines = formatText(db).split('\n');
    expect(lines[4]).toMatch(/^ {2}postgresql SELECT pg_sleep\(\?\) +900\.0ms {2}wait 301ms {2}1 rows$/);
    expect(lines).toContain('n+1 12× under PlayerService.list: SELECT * FROM "p" WHERE "id" = $1');
    expect(lines.at(-1)).toBe(
      'postgres pool 4 open, 1 idle, 2 waiting  server 12 connections / 3 active, 1 idle in tx, 0 on lock',
    );
  });

  it('a folded run keeps its longest wait; a failed pg probe shows its ProbeError', () => {
    const folded: TraceRecord = {
      ...db,
      spans: [db.spans[0]!, ...[1, 2, 3, 4, 5].map((k) => ({ ...db.spans[1]!, poolWaitMs: k * 100 }))],
      metrics: {
        ...db.metrics!,
        postgres: { pool: { total: 2, idle: 0, waiting: 0 }, server: { status: 'forbidden', error: 'no rights' } },
      },
    };
    const text = formatText(folded);
    expect(text).toMatch(/postgresql SELECT pg_sleep\(\?\) ×5 +1500\.0ms {2}max 300\.0ms {2}wait max 500ms/);
    expect(text).toContain('postgres pool 2 open, 0 idle, 0 waiting  server forbidden (no rights)');
  });
});

describe('text header of background work', () => {
  const base = { ...record, spans: record.spans.slice(0, 1), metrics: undefined };

  it('shows by how much an @Interval run overran its period', () => {
    const text = formatText({ ...base, transport: 'cron', route: 'game-tick', overrunMs: 120.4 });
    expect(text.split('\n')[0]).toMatch(/ cron game-tick .*trace=\w+ {2}overrun \+120ms$/);
  });

  it('shows the job, its attempt and its wait for a queue job', () => {
    const queue = { name: 'matches', jobName: 'settle', jobId: '42', attempt: 2, waitMs: 15.2 };
    const text = formatText({ ...base, transport: 'queue', route: 'matches:settle', queue });
    expect(text.split('\n')[0]).toMatch(/ queue matches:settle .* {2}job 42 attempt 2 waited 15ms$/);
  });
});

describe('text of a CPU profile', () => {
  const profile = {
    file: '/var/profiles/4bf92f3577b34da6a3ce929d0e0e4736.cpuprofile',
    startedAt: '2026-11-30T02:21:51.277Z',
    durationMs: 1012.4,
    top: [
      { function: 'crunchNumbers', file: '/app/dist/report.service.js', line: 12, selfMs: 612.25 },
      { function: '(garbage collector)', file: '', line: 0, selfMs: 31.5 },
    ],
  };

  it('names the file, then one line per function, after the tree and before the metrics', () => {
    const lines = formatText({ ...record, profile }).split('\n');
    const at = lines.indexOf(
      'cpu profile 1012.4ms from 2026-11-30T02:21:51.277Z: /var/profiles/4bf92f3577b34da6a3ce929d0e0e4736.cpuprofile',
    );
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 3)).toEqual([
      '  612.3ms self  crunchNumbers  /app/dist/report.service.js:12',
      '   31.5ms self  (garbage collector)',
    ]);
    expect(lines[at + 3]).toMatch(/^cpu \d+%/);
  });

  it('says why the file is missing', () => {
    const text = formatText({ ...record, profile: { ...profile, error: 'not written: EACCES: permission denied' } });
    expect(text).toContain('.cpuprofile (not written: EACCES: permission denied)');
  });
});
