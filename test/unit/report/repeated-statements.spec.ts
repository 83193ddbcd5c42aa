import { performance } from 'node:perf_hooks';
import { ActiveTrace } from '../../../src/context/active-trace.js';
import type { DbSpanInfo } from '../../../src/context/span-extra.js';
import { FindingReports, findRepeatedStatements, isBatchedStatement } from '../../../src/report/repeated-statements.js';
import { resolveOptions } from '../../../src/resolve-options.js';

const options = resolveOptions({});

/** A finished manual trace with the given SQL statements under the given parents (span names). */
function traceWith(statements: Array<{ sql: string; under?: number; system?: DbSpanInfo['system'] }>): ActiveTrace {
  const trace = new ActiveTrace({ transport: 'manual', handlerName: 'job' }, undefined);
  const service = trace.openSpan('RoomService.listPlayers', 0);
  for (const { sql, under = service, system = 'mysql' } of statements) {
    const span = trace.openSpan(system, under);
    trace.setDb(span, { system, statement: sql });
    trace.endSpan(span, false);
  }
  trace.endSpan(service, false);
  trace.endSpan(0, false);
  return trace;
}

const repeat = (count: number, sql: (i: number) => string): Array<{ sql: string }> =>
  Array.from({ length: count }, (_, i) => ({ sql: sql(i) }));

describe('N+1 findings', () => {
  it('counts statements with the same normalized text under one parent, literals inlined or not', () => {
    const trace = traceWith([
      ...repeat(3, () => 'SELECT * FROM `player` WHERE `id` = ?'),
      ...repeat(3, (i) => `SELECT * FROM \`player\` WHERE \`id\` = ${i + 10}`),
      { sql: 'SELECT 1' },
    ]);
    expect(findRepeatedStatements(trace, options)).toEqual([
      { kind: 'n+1', parent: 'RoomService.listPlayers', statement: 'SELECT * FROM `player` WHERE `id` = ?', count: 6 },
    ]);
  });

  it('one below the threshold, or spread over two parents: no finding', () => {
    expect(findRepeatedStatements(traceWith(repeat(4, () => 'SELECT ?')), options)).toBeUndefined();
    const spread = traceWith([
      ...repeat(3, () => 'SELECT ?'),
      ...repeat(3, () => 'SELECT ?').map((s) => ({ ...s, under: 0 })),
    ]);
    expect(findRepeatedStatements(spread, options)).toBeUndefined();
  });

  it('batched statements are never counted: IN lists of several values, multi-row INSERTs', () => {
    expect(isBatchedStatement('SELECT * FROM p WHERE id IN (?, ?, ?)')).toBe(true);
    expect(isBatchedStatement('SELECT * FROM "p" WHERE "id" IN ($1, $2)')).toBe(true);
    expect(isBatchedStatement('INSERT INTO p (a, b) VALUES (?, ?), (?, ?)')).toBe(true);
    expect(isBatchedStatement('INSERT INTO "p"("a", "b") VALUES ($1, DEFAULT), ($2, DEFAULT) RETURNING "id"')).toBe(
      true,
    );
    expect(isBatchedStatement('SELECT * FROM p WHERE id IN (?)')).toBe(false);
    expect(isBatchedStatement('INSERT INTO p (a, b) VALUES (?, ?)')).toBe(false);
    expect(isBatchedStatement('SELECT * FROM p WHERE id = ?')).toBe(false);
    const loop = traceWith(repeat(8, () => 'SELECT * FROM p WHERE id IN (?, ?)'));
    expect(findRepeatedStatements(loop, options)).toBeUndefined();
  });

  it('honours nPlusOneThreshold (0: off) and instrument.statement: none', () => {
    const trace = traceWith(
      repeat(3, () => 'SELECT * FROM "p" WHERE "id" = $1').map((s) => ({ ...s, system: 'postgresql' as const })),
    );
    expect(findRepeatedStatements(trace, resolveOptions({ nPlusOneThreshold: 3 }))).toEqual([
      { kind: 'n+1', parent: 'RoomService.listPlayers', statement: 'SELECT * FROM "p" WHERE "id" = $1', count: 3 },
    ]);
    expect(findRepeatedStatements(trace, resolveOptions({ nPlusOneThreshold: 0 }))).toBeUndefined();
    expect(
      findRepeatedStatements(trace, resolveOptions({ nPlusOneThreshold: 2, instrument: { statement: 'none' } }))?.[0]
        ?.statement,
    ).toBe('SELECT');
  });

  it('finds a loop of calls to a traced method that each run the statement (sequential or concurrent), via that method', () => {
    const trace = new ActiveTrace({ transport: 'manual', handlerName: 'job' }, undefined);
    const service = trace.openSpan('GameService.listRooms', 0);
    const calls = [1, 2, 3, 4, 5, 6].map(() => trace.openSpan('RoomRepository.findById', service));
    // Concurrent: all calls open first, their statements interleave.
    for (const call of calls) {
      const span = trace.openSpan('postgresql', call);
      trace.setDb(span, { system: 'postgresql', statement: 'SELECT * FROM "room" WHERE "id" = $1' });
      trace.endSpan(span, false);
      trace.endSpan(call, false);
    }
    trace.endSpan(service, false);
    trace.endSpan(0, false);
    expect(findRepeatedStatements(trace, options)).toEqual([
      {
        kind: 'n+1',
        parent: 'GameService.listRooms',
        via: 'RoomRepository.findById',
        statement: 'SELECT * FROM "room" WHERE "id" = $1',
        count: 6,
      },
    ]);
  });

  it('one call running a statement many times is found once, under that call; transaction control is never a finding', () => {
    const trace = new ActiveTrace({ transport: 'manual', handlerName: 'job' }, undefined);
    const service = trace.openSpan('GameService.sync', 0);
    const call = trace.openSpan('RoomRepository.saveAll', service);
    for (const sql of ['SELECT ?', 'SELECT ?', 'SELECT ?', 'SELECT ?', 'SELECT ?']) {
      const span = trace.openSpan('mysql', call);
      trace.setDb(span, { system: 'mysql', statement: sql });
      trace.endSpan(span, false);
    }
    for (let i = 0; i < 6; i++) {
      const transaction = trace.openSpan('transaction', service);
      for (const sql of ['START TRANSACTION', 'COMMIT']) {
        const span = trace.openSpan('mysql', transaction);
        trace.setDb(span, { system: 'mysql', statement: sql });
        trace.endSpan(span, false);
      }
      trace.endSpan(transaction, false);
    }
    trace.endSpan(call, false);
    trace.endSpan(service, false);
    trace.endSpan(0, false);
    expect(findRepeatedStatements(trace, options)).toEqual([
      { kind: 'n+1', parent: 'RoomRepository.saveAll', statement: 'SELECT ?', count: 5 },
    ]);
  });

  it('reports a fast trace with findings at most once per handler per minute', () => {
    const reports = new FindingReports(options);
    const trace = traceWith(repeat(5, () => 'SELECT ?'));
    expect(reports.shouldReport(trace, 1_000)).toBe(true);
    expect(reports.shouldReport(trace, 30_000)).toBe(false);
    expect(reports.shouldReport(trace, 61_000)).toBe(true);
    expect(reports.shouldReport(traceWith(repeat(4, () => 'SELECT ?')), 200_000)).toBe(false);
  });

  it('costs next to nothing on a trace without repeated statements (under 2 µs per trace)', () => {
    const few = traceWith([{ sql: 'SELECT a' }, { sql: 'SELECT b' }, { sql: 'UPDATE c SET d = ?' }]);
    const none = new ActiveTrace({ transport: 'manual', handlerName: 'job' }, undefined);
    none.endSpan(0, false);
    const rounds = 200_000;
    let found = 0;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      if (findRepeatedStatements(few, options)) found++;
      if (findRepeatedStatements(none, options)) found++;
    }
    const perTraceUs = ((performance.now() - started) * 1000) / (2 * rounds);
    expect(found).toBe(0);
    expect(perTraceUs).toBeLessThan(2);
  });
});
