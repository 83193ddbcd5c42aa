import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TRACE_DEFAULTS } from '../../src/trace.defaults.js';

const root = process.cwd();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const optionsSource = readFileSync(join(root, 'src/trace.options.ts'), 'utf8');

/** How a default is written in the docs and in JSDoc: `'text'`, `1000`, `true`, `[0.005, 0.01]`. */
function render(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  return String(value);
}

/** `[dotted key, value]` for every leaf of the defaults object. */
function leaves(value: object, prefix = ''): [string, unknown][] {
  return Object.entries(value).flatMap(([key, child]): [string, unknown][] =>
    child !== null && typeof child === 'object' && !Array.isArray(child)
      ? leaves(child as object, `${prefix}${key}.`)
      : [[`${prefix}${key}`, child]],
  );
}

/** The README options-table row whose first cell names `option` (e.g. `` `maxSpans` ``). */
function tableRow(option: string): string {
  const row = readme
    .split('\n')
    .find((line) => line.startsWith('| ') && (line.split(' | ')[0] ?? '').includes(`\`${option}\``));
  if (row === undefined) throw new Error(`no README options-table row for ${option}`);
  return row;
}

/** The JSDoc `@default` of each property of an interface in src/trace.options.ts. */
function jsdocDefaults(interfaceName: string): Map<string, string> {
  const body = new RegExp(`export interface ${interfaceName} \\{([\\s\\S]*?)\\n\\}`).exec(optionsSource)?.[1] ?? '';
  const defaults = new Map<string, string>();
  for (const match of body.matchAll(/\/\*\*([\s\S]*?)\*\/\s*\n\s*(\w+)\??:/g)) {
    const tag = /@default ([^\n*]+)/.exec(match[1] ?? '')?.[1]?.trim();
    if (tag !== undefined && match[2] !== undefined) defaults.set(match[2], tag);
  }
  return defaults;
}

const GROUPS: Record<string, string> = {
  '': 'TraceModuleOptions',
  instrument: 'TraceInstrumentOptions',
  memoryMonitor: 'TraceMemoryMonitorOptions',
  otel: 'TraceOtelOptions',
  prometheus: 'TracePrometheusOptions',
  socketIoAdmin: 'TraceSocketIoAdminOptions',
  profile: 'TraceProfileOptions',
};

describe('documented defaults', () => {
  it('is frozen all the way down', () => {
    expect(Object.isFrozen(TRACE_DEFAULTS)).toBe(true);
    expect(Object.isFrozen(TRACE_DEFAULTS.instrument)).toBe(true);
    expect(Object.isFrozen(TRACE_DEFAULTS.prometheus.buckets)).toBe(true);
  });

  it.each(leaves(TRACE_DEFAULTS))('the README options table shows the default of %s', (key, value) => {
    if (key === 'hungThresholdFactor') {
      expect(tableRow('hungThresholdMs')).toContain(`${String(value)} × \`slowThresholdMs\``);
      return;
    }
    const [group, leaf] = key.includes('.') ? (key.split('.') as [string, string]) : ['', key];
    if (group === 'instrument' || group === '') {
      // A row of its own: `| \`instrument.typeorm\` / … | \`true\` | …`.
      const cells = tableRow(key).split(' | ');
      expect(cells[1]).toBe(`\`${render(value)}\``);
      return;
    }
    // A group described in one row: `{ intervalMs: 30000, … }` or `{ mode?: 'production', … }`.
    expect(tableRow(group)).toMatch(
      new RegExp(`\\b${leaf}\\??: ${render(value).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
    );
  });

  it.each(leaves(TRACE_DEFAULTS))('the JSDoc @default of %s matches', (key, value) => {
    if (key === 'hungThresholdFactor') {
      expect(jsdocDefaults('TraceModuleOptions').get('hungThresholdMs')).toBe(`${String(value)} × slowThresholdMs`);
      return;
    }
    const [group, leaf] = key.includes('.') ? (key.split('.') as [string, string]) : ['', key];
    expect(jsdocDefaults(GROUPS[group] ?? '').get(leaf)).toBe(render(value));
  });
});

describe('docs/performance.md', () => {
  it('is generated from bench/performance-notes.md and bench/results/latest.md, never edited by hand', async () => {
    const { performanceDoc, readInputs } = (await import(join(root, 'scripts/performance-doc.mjs'))) as {
      performanceDoc(notes: string, results: string): string;
      readInputs(): { notes: string; results: string };
    };
    const { notes, results } = readInputs();
    expect(readFileSync(join(root, 'docs/performance.md'), 'utf8')).toBe(performanceDoc(notes, results));
  });
});

describe('docs/', () => {
  it('every relative link points at a file of the repository', () => {
    const pages = ['README.md', 'CONTRIBUTING.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8');
      const dir = page.includes('/') ? page.slice(0, page.lastIndexOf('/')) : '';
      for (const match of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = match[1] ?? '';
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        if (!existsSync(join(root, dir, target))) broken.push(`${page} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

/** The report objects (`{"type": …}`) of every ```json sample in docs/: a whole-block object or one per line. */
function jsonReportSamples(): { page: string; record: Record<string, unknown> }[] {
  const samples: { page: string; record: Record<string, unknown> }[] = [];
  for (const file of readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md'))) {
    const text = readFileSync(join(root, 'docs', file), 'utf8');
    for (const block of text.matchAll(/```json\n([\s\S]*?)```/g)) {
      const body = block[1] ?? '';
      let values: unknown[];
      try {
        values = [JSON.parse(body)];
      } catch {
        values = body
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as unknown);
      }
      for (const value of values)
        if (value !== null && typeof value === 'object' && 'type' in value)
          samples.push({ page: `docs/${file}`, record: value as Record<string, unknown> });
    }
  }
  return samples;
}

describe('report samples in docs/', () => {
  const samples = jsonReportSamples();
  const example = readdirSync(join(root, 'examples/game-server/src'))
    .map((file) => readFileSync(join(root, 'examples/game-server/src', file), 'utf8'))
    .join('\n');

  it('include a queue report and a blocked report copied from the example game server', () => {
    const queue = samples.find(
      (s) => s.record.transport === 'queue' && s.record.handler === 'MatchResultsProcessor.process',
    );
    const blocked = samples.find(
      (s) =>
        s.record.type === 'blocked' &&
        (s.record.stack as { function: string }[])[0]?.function === 'GameService.generateHugeMap',
    );
    expect(queue?.page).toBe('docs/background-work.md');
    expect(blocked?.page).toBe('docs/stalls.md');
    // The names in the samples are the example's own: renaming them there breaks this test, not only the docs.
    for (const name of [
      'MatchResultsProcessor',
      'MatchResults',
      'updateLeaderboard',
      'generateHugeMap',
      "'match-results'",
    ])
      expect(example).toContain(name);
  });

  it.each(samples.map((s) => [s.page, s.record.type, s.record] as const))(
    '%s: a %s sample has the fields of the JSON contract',
    (_page, type, record) => {
      if (record.profile !== undefined) {
        const profile = record.profile as { top: unknown[] };
        expect(profile).toMatchObject({
          file: expect.stringMatching(/\.cpuprofile$/),
          startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          durationMs: expect.any(Number),
        });
        expect(profile.top.length).toBeLessThanOrEqual(10);
        for (const entry of profile.top)
          expect(entry).toEqual({
            function: expect.any(String),
            file: expect.any(String),
            line: expect.any(Number),
            selfMs: expect.any(Number),
          });
      }
      if (type === 'blocked') {
        expect(record).toMatchObject({
          blockedMs: expect.any(Number),
          at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          stack: expect.any(Array),
          gc: expect.any(Array),
        });
        for (const frame of record.stack as unknown[])
          expect(frame).toEqual({
            function: expect.any(String),
            file: expect.any(String),
            line: expect.any(Number),
            column: expect.any(Number),
          });
        if (record.trace !== null)
          expect(record.trace).toEqual({
            traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
            transport: expect.any(String),
            handler: expect.any(String),
            route: expect.any(String),
            span: expect.any(String),
          });
        return;
      }
      expect(type).toBe('trace');
      expect(record).toMatchObject({
        outcome: expect.stringMatching(/^(slow|error|hung|ok)$/),
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
        transport: expect.stringMatching(/^(http|ws|rpc|manual|cron|event|queue)$/),
        handler: expect.any(String),
        route: expect.any(String),
        durationMs: expect.any(Number),
        spans: expect.any(Array),
      });
      if (record.transport === 'queue')
        expect(record.queue).toEqual({
          name: expect.any(String),
          jobName: expect.any(String),
          jobId: expect.any(String),
          attempt: expect.any(Number),
          waitMs: expect.any(Number),
        });
    },
  );
});
