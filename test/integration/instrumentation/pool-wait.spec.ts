import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { instrumentDataSource } from '../../../src/instrumentation/typeorm.instrumentation.js';
import { formatText } from '../../../src/report/text-format.js';
import { CaptureSink, MYSQL_URL, POSTGRES_URL, dbSpans, traced } from './helpers/traces.js';

/** How long each statement holds its connection. */
const HOLD_MS = 300;
/**
 * Generous: a loaded machine adds to any wait (+387 ms and +614 ms seen in CI's Node 24 stage, late in a full run).
 * The lower bound (the forced wait − 50 ms) is what shows the statement queued; that a wait does not include the
 * statement's own run is checked against its span's duration (below), so this bound only rules out absurd values.
 */
const SLACK_MS = 1500;

const cases = [
  {
    system: 'mysql',
    options: { type: 'mysql', url: MYSQL_URL, extra: { connectionLimit: 2 } },
    sleep: `SELECT SLEEP(${HOLD_MS / 1000})`,
  },
  {
    system: 'postgresql',
    options: { type: 'postgres', url: POSTGRES_URL, poolSize: 2 },
    sleep: `SELECT pg_sleep(${HOLD_MS / 1000})`,
  },
] as const;

describe.each(cases)('pool wait, $system: a pool of 2, 6 concurrent slow statements', ({ options, sleep }) => {
  let dataSource: DataSource;
  let uninstall: () => void;
  const sink = new CaptureSink();

  beforeAll(async () => {
    dataSource = new DataSource(options);
    await dataSource.initialize();
    uninstall = instrumentDataSource(dataSource);
    sink.install();
  });

  afterAll(async () => {
    sink.uninstall();
    uninstall();
    await dataSource.destroy();
  });

  it('the 4 statements that queued carry poolWaitMs ≈ 1 or 2 statement lengths; the 2 served at once carry none', async () => {
    const { record } = await traced(sink, 'burst', () =>
      Promise.all([1, 2, 3, 4, 5, 6].map(() => dataSource.query(sleep))),
    );
    const spans = dbSpans(record);
    expect(spans).toHaveLength(6);
    expect(spans.filter((span) => span.poolWaitMs === undefined)).toHaveLength(2);
    const waits = spans
      .flatMap((span) => (span.poolWaitMs === undefined ? [] : [span.poolWaitMs]))
      .sort((a, b) => a - b);
    // Statements 3 and 4 wait for the first two to end, 5 and 6 for the next two.
    const forced = [HOLD_MS, HOLD_MS, 2 * HOLD_MS, 2 * HOLD_MS];
    waits.forEach((wait, index) => {
      expect(wait).toBeGreaterThanOrEqual(forced[index]! - 50);
      expect(wait).toBeLessThanOrEqual(forced[index]! + SLACK_MS);
    });
    // A statement's span includes its wait.
    for (const span of spans) expect(span.durationMs).toBeGreaterThanOrEqual((span.poolWaitMs ?? 0) + HOLD_MS - 50);
    // Six identical statements fold into one line, which keeps the longest wait.
    expect(formatText(record)).toContain(` wait max ${Math.round(Math.max(...waits))}ms`);
    // Unfolded (three statements), each waiting one shows it.
    const { record: three } = await traced(sink, 'three', () =>
      Promise.all([1, 2, 3].map(() => dataSource.query(sleep))),
    );
    const shown = [...formatText(three).matchAll(/ wait (\d+)ms/g)].map((match) => Number(match[1]));
    expect(shown).toHaveLength(1);
    expect(shown[0]).toBeGreaterThanOrEqual(HOLD_MS - 50);
    expect(shown[0]).toBeLessThanOrEqual(HOLD_MS + SLACK_MS);
  });

  it('statements that find a free connection carry no poolWaitMs', async () => {
    const { record } = await traced(sink, 'calm', async () => {
      await dataSource.query('SELECT 1');
      await dataSource.query('SELECT 1');
    });
    expect(dbSpans(record).map((span) => span.poolWaitMs)).toEqual([undefined, undefined]);
  });
});
