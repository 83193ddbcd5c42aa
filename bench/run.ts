import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { BackgroundPair, BackgroundResult } from './background/background.js';
import type { DbResult } from './db/db.js';
import type { HttpResult } from './http/http.js';
import { progress, runSection } from './lib/child.js';
import { formatBytes, formatInterval, formatNs, median, range, ratio, ratioInterval, verdict } from './lib/stats.js';
import type { RatioInterval } from './lib/stats.js';
import type { MemoryCase } from './memory/memory.js';
import type { MicroResult } from './micro/micro.js';
import type { ReportResult } from './report/report.js';

type Status = 'PASS' | 'FAIL' | 'SKIP' | 'INCONCLUSIVE';
interface Budget {
  name: string;
  measured: string;
  limit: string;
  status: Status;
}

const only = new Set(
  (process.env.BENCH_ONLY ?? 'micro,report,memory,db,background,http').split(',').map((s) => s.trim()),
);
const lines: string[] = [];
const budgets: Budget[] = [];
const out = (line = ''): void => {
  lines.push(line);
};
const check = (name: string, measured: string, limit: string, pass: boolean | undefined): void => {
  budgets.push({ name, measured, limit, status: pass === undefined ? 'SKIP' : pass ? 'PASS' : 'FAIL' });
};
/** A budget judged on a confidence interval: INCONCLUSIVE when the interval straddles the limit. */
const checkInterval = (name: string, interval: RatioInterval, atLeast: number): void => {
  budgets.push({
    name,
    measured: formatInterval(interval),
    limit: `≥ ${atLeast.toFixed(2)} ×`,
    // n = 0: a variant the budget needs was not run (`BENCH_HTTP_VARIANTS`).
    status: interval.n === 0 ? 'SKIP' : verdict(interval, atLeast),
  });
};

/** A Node binary the micro, database and HTTP sections run on: this one, and those in the git-ignored `.node<major>/`. */
interface NodeBinary {
  path: string;
  version: string;
  major: number;
}

/**
 * This Node, and every `.node<N>/node_modules/.bin/node` in the repository (`npm i --no-save --prefix .node24 node@24`
 * puts one there). `BENCH_NODES=20,24` keeps only those majors.
 */
function nodeBinaries(): NodeBinary[] {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const found: NodeBinary[] = [
    { path: process.execPath, version: process.version, major: Number(process.versions.node.split('.')[0]) },
  ];
  for (const entry of readdirSync(root)) {
    if (!/^\.node\d+$/.test(entry)) continue;
    const path = `${root}${entry}/node_modules/.bin/node`;
    if (!existsSync(path)) continue;
    try {
      const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
      const major = Number(version.replace(/^v/, '').split('.')[0]);
      if (!found.some((node) => node.major === major)) found.push({ path, version, major });
    } catch {
      // Not a working binary (an interrupted install): left out.
    }
  }
  const wanted = process.env.BENCH_NODES?.split(',').map((v) => Number(v.trim()));
  return found.filter((node) => wanted === undefined || wanted.includes(node.major)).sort((a, b) => a.major - b.major);
}

/** Median over rounds of a per-round combination of two series (ratios of same-round pairs). */
function paired(
  a: readonly number[] | undefined,
  b: readonly number[] | undefined,
  combine: (x: number, y: number) => number,
): number {
  if (!a || !b) return Number.NaN;
  return median(a.map((x, i) => combine(x, b[i] ?? Number.NaN)));
}

function cpuModel(): string {
  try {
    return (
      /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown'
    );
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

const MICRO_ROWS: Array<[string, string]> = [
  ['plain', 'plain method (sync)'],
  ['wrapper', 'call-through wrapper (rest args + apply)'],
  ['floor', 'ALS floor: getStore + 2 × performance.now + push'],
  ['trace', '`@Trace` inside a trace'],
  ['trace-untraced', '`@Trace`, no trace'],
  ['otel', 'OTel `startActiveSpan` (in a parent span)'],
  ['otel-span', 'nestjs-otel-style `@Span` (Proxy)'],
  ['plain-async', 'plain async method'],
  ['wrapper-async', 'call-through wrapper, async'],
  ['floor-async', 'ALS floor, async (await + 2 × now + push)'],
  ['then-floor-async', 'lower bound, async: one `then` + 2 × now + push, no context per call'],
  ['trace-async', '`@Trace` async inside a trace'],
  ['trace-async-untraced', '`@Trace` async, no trace'],
  ['otel-async', 'OTel `startActiveSpan`, async'],
  ['otel-span-async', 'nestjs-otel-style `@Span`, async'],
  ['plain-obs', 'plain method returning `of(x)`, subscribed'],
  ['trace-obs', '`@Trace` Observable inside a trace'],
  ['trace-obs-untraced', '`@Trace` Observable, no trace'],
];

function microSection(micro: MicroResult, node = process.version): void {
  const on = ` on Node ${node}`;
  out(
    `## Micro${on} (tinybench, one process${micro.pinned ? ' pinned to one CPU' : ''}, ${micro.rounds} interleaved rounds; ns per call = median over rounds of each round's p50)`,
  );
  out();
  out('| variant | per call | spread over rounds | over plain |');
  out('|---|---:|---:|---:|');
  for (const [key, label] of MICRO_ROWS) {
    const base = key.endsWith('-async') ? 'plain-async' : key.includes('obs') ? 'plain-obs' : 'plain';
    const [low, high] = range(micro.perRound[key] ?? []);
    const over = key === base ? '' : formatNs(paired(micro.perRound[key], micro.perRound[base], (x, y) => x - y));
    out(`| ${label} | ${formatNs(micro.ns[key] ?? Number.NaN)} | ${formatNs(low)} – ${formatNs(high)} | ${over} |`);
  }
  out();
  out(
    `Recorded, not dropped: ${Object.entries(micro.checks)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}.`,
  );
  out();
  // The budgets use the method the issue asks for: tinybench rounds, interleaved, ratios of same-round values.
  const r = micro.perRound;
  const sync = paired(r.trace, r.floor, (x, y) => x / y);
  check(`Node ${node}: \`@Trace\` sync in a trace ≤ 1.3 × ALS floor`, ratio(sync), '≤ 1.30 ×', sync <= 1.3);
  const async = paired(r['trace-async'], r['floor-async'], (x, y) => x / y);
  check(`Node ${node}: \`@Trace\` async in a trace ≤ 1.3 × async ALS floor`, ratio(async), '≤ 1.30 ×', async <= 1.3);
  const untraced = paired(r['trace-untraced'], r.plain, (x, y) => x - y);
  check(`Node ${node}: \`@Trace\` outside a trace, over plain`, formatNs(untraced), '≤ 25 ns', untraced <= 25);
  // Per span = the cost above the bare method, so the method's own time does not dilute the ratio.
  const perSpan = (otel: string, trace: string, plain: string): number =>
    median((r[otel] ?? []).map((o, i) => (o - (r[plain]?.[i] ?? 0)) / ((r[trace]?.[i] ?? 0) - (r[plain]?.[i] ?? 0))));
  const logs = median(
    (r['log-trace'] ?? []).map((value, i) => value - (r['log-trace-empty']?.[i] ?? 0) - (r['log-outside']?.[i] ?? 0)),
  );
  check(
    `Node ${node}: Nest \`Logger.log\` in a trace (not reported), over the call outside`,
    formatNs(logs),
    '≤ 100 ns',
    logs <= 100,
  );
  const otelSync = perSpan('otel', 'trace', 'plain');
  check(
    `Node ${node}: OTel \`startActiveSpan\` / \`@Trace\` per span, sync`,
    ratio(otelSync),
    '≥ 10 ×',
    otelSync >= 10,
  );
  const otelAsync = perSpan('otel-async', 'trace-async', 'plain-async');
  check(
    `Node ${node}: OTel \`startActiveSpan\` / \`@Trace\` per span, async`,
    ratio(otelAsync),
    '≥ 10 ×',
    otelAsync >= 10,
  );
  const bound = perSpan('otel-async', 'then-floor-async', 'plain-async');
  const floorBound = perSpan('otel-async', 'floor-async', 'plain-async');
  out(
    `Async, per span: OTel costs ${ratio(otelAsync)} what \`@Trace\` costs, ${ratio(floorBound)} what the async ALS floor costs, and ${ratio(bound)} what the lower bound costs (one \`then\` and two clock readings, no context per call). ${bound >= 10 ? 'A ≥ 10 × async budget is reachable in principle on this Node.' : 'So on this Node no design that times the promise is 10 × cheaper than OTel per async span.'}`,
  );
  out();
  // A second view, not the budgets': every variant a budget needs run once per cycle, back to back.
  const p = micro.paired.values;
  const cyc = (key: string, format: (x: number) => string): string =>
    `${format(p[key]?.median ?? Number.NaN)} (${format(p[key]?.low ?? Number.NaN)} – ${format(p[key]?.high ?? Number.NaN)})`;
  out(
    `Back to back instead (${micro.paired.cycles} cycles, each running one batch of every variant below in a changing order, so no variant runs hot for 100 ms; median over cycles, quartiles in brackets): \`@Trace\` ${cyc('ns:trace', formatNs)} against the floor's ${cyc('ns:floor', formatNs)}, i.e. ${cyc('sync', ratio)}; async ${cyc('async', ratio)} the async floor; outside a trace ${cyc('untraced', formatNs)} over plain; OTel per span ${cyc('otelSync', ratio)} sync and ${cyc('otelAsync', ratio)} async; the async lower bound ${cyc('otelAsyncBound', ratio)} under OTel.`,
  );
  out();
  const backToBack = p.sync?.median ?? Number.NaN;
  check(
    `Node ${node}: \`@Trace\` sync in a trace ≤ 1.3 × ALS floor, back to back`,
    ratio(backToBack),
    '≤ 1.30 ×',
    Number.isFinite(backToBack) ? backToBack <= 1.3 : undefined,
  );
}

function httpSection(http: HttpResult, node = process.version): void {
  const on = ` on Node ${node}`;
  out(
    `## HTTP${on} (Nest 12 + Express, 10 service methods per request, autocannon ${http.connections} connections, ${http.rounds} rounds × ${http.durationS} s, variants alternated)`,
  );
  out();
  out(
    http.pinned
      ? 'autocannon runs on CPU 0, each app on CPU 1 (`taskset`), so an app has one core to itself and the ratios are of its own capacity.'
      : 'Not pinned (no `taskset` or one CPU): the load generator and the app share the cores, and rounds vary more.',
  );
  out(
    "The primary figure is the app's CPU time per request (`process.cpuUsage()` over a round / requests served): unlike req/s it does not move with what else runs on the machine. Capacity ratio = the other variant's CPU per request / this one's, per round; the interval is a 95 % t-interval over the rounds' ratios (`bench/lib/stats.ts`).",
  );
  out();
  out(
    '| variant | app CPU per request | spread over rounds | capacity vs bare ALS middleware (95 % CI) | vs plain | vs bare ALS interceptor | req/s | p99 latency |',
  );
  out('|---|---:|---|---:|---:|---:|---:|---:|');
  const labels: Record<string, string> = {
    plain: 'plain (no interceptor)',
    als: 'bare ALS interceptor (opens a context, nothing else)',
    'als-mw': 'bare ALS middleware (opens a context before the router, no interceptor)',
    'als-mw-nested': 'bare ALS middleware + a context per call of the 3 methods that await before calling others',
    'als-nestmw': 'bare ALS context opened by a Nest class middleware',
    'trace-root': 'TraceModule alone, no `@Trace`',
    'trace-root-lean': 'TraceModule alone, no hung sweeper, no OTel bridge',
    'trace-root-nostall': 'TraceModule alone, no blocked-loop watchdog',
    'trace-root-bare': 'TraceModule alone, no sweeper, OTel bridge, watchdog or log capture',
    'trace-nostall': 'TraceModule + `@Trace` on the 10 methods, no blocked-loop watchdog',
    'trace-otel': 'TraceModule + `@Trace`, OTel bridge exporting every trace (`okSampleRate` 1)',
    'trace-otel-sampled': 'TraceModule + `@Trace`, OTel bridge, `okSampleRate` 0.01',
    trace: 'TraceModule + `@Trace` on the 10 methods, nothing reported',
    'trace-slow': 'TraceModule, 1 % of requests reported as slow (text, with snapshot)',
    otel: 'OTel: root span per request + nestjs-otel-style `@Span` on the 10 methods',
  };
  const cpu = http.cpuPerRound as Record<string, number[] | undefined>;
  /** How many requests `variant` serves per request of `base` on the same CPU, per round: base's CPU / variant's. */
  const capacity = (variant: string, base: string): RatioInterval => {
    const own = cpu[variant];
    const other = cpu[base];
    if (!own || !other) return { estimate: Number.NaN, low: Number.NaN, high: Number.NaN, n: 0 };
    return ratioInterval(own.map((value, i) => (other[i] ?? Number.NaN) / value));
  };
  for (const [variant, values] of Object.entries(http.cpuPerRound)) {
    const [low, high] = range(values);
    const rps = http.rps[variant as keyof HttpResult['rps']];
    const p99 = http.p99[variant as keyof HttpResult['p99']];
    const median = http.cpuUs[variant as keyof HttpResult['cpuUs']];
    const vsFloor = variant === 'als-mw' ? '' : formatInterval(capacity(variant, 'als-mw'));
    const vsPlain = variant === 'plain' ? '' : ratio(capacity(variant, 'plain').estimate);
    const vsAls = variant === 'als' ? '' : ratio(capacity(variant, 'als').estimate);
    out(
      `| ${labels[variant] ?? variant} | ${median.toFixed(1)} µs | ${low.toFixed(1)} – ${high.toFixed(1)} µs | ${vsFloor} | ${vsPlain} | ${vsAls} | ${rps.toFixed(0)} | ${p99.toFixed(0)} ms |`,
    );
  }
  out();
  const rpsRatio = ratioInterval(
    (http.perRound.trace ?? []).map((value, i) => value / (http.perRound['als-mw']?.[i] ?? Number.NaN)),
  );
  out(
    `Every variant serves the same mix: 1 request in 100 sleeps ${15} ms in \`save()\`. Errors/timeouts/non-2xx: ${http.errors}. In req/s instead of CPU, TraceModule serves ${formatInterval(rpsRatio)} what the bare ALS middleware serves (req/s moves with the load generator and the machine; the budget uses CPU).`,
  );
  out();
  // The floor: TraceModule opens its trace in a middleware put straight on Express, so the fair comparison is a bare
  // AsyncLocalStorage context opened the same way (an interceptor adds Nest's RxJS pipeline to every request).
  checkInterval(
    `HTTP${on}: TraceModule ≥ 0.95 × bare ALS middleware (app CPU per request)`,
    capacity('trace', 'als-mw'),
    0.95,
  );
  // Exactness has a price of its own on Node 24 (each AsyncLocalStorage.run copies the context frame twice): against
  // a bare floor that nests exactly too, what is left is the library's own bookkeeping (bench/performance-notes.md).
  checkInterval(
    `HTTP${on}: TraceModule ≥ 0.95 × bare ALS middleware with exact nesting (app CPU per request)`,
    capacity('trace', 'als-mw-nested'),
    0.95,
  );
  checkInterval(`HTTP${on}: TraceModule ≥ 1.3 × OTel variant (app CPU per request)`, capacity('trace', 'otel'), 1.3);
}

function reportSection(report: ReportResult): void {
  out(`## Reporting path (${report.spans}-span trace, median of repetitions)`);
  out();
  out('| step | time |');
  out('|---|---:|');
  out(`| \`buildTraceRecord\` | ${formatNs(report.buildMs * 1e6)} |`);
  out(
    `| \`buildTraceRecord\` + \`formatText\` (${report.textLines} lines, folded) | ${formatNs(report.buildTextMs * 1e6)} |`,
  );
  out(
    `| \`buildTraceRecord\` + \`formatJson\` (${(report.jsonBytes / 1024).toFixed(0)} KiB) | ${formatNs(report.buildJsonMs * 1e6)} |`,
  );
  const snap = report.snapshot;
  if (snap && 'error' in snap) out(`| \`SystemMetricsService.snapshot()\` | skipped: ${snap.error} |`);
  else if (snap) {
    out(`| \`SystemMetricsService.snapshot()\`, reused (< 500 ms old) | ${formatNs(snap.cachedUs * 1000)} |`);
    out(
      `| \`snapshot()\` × 100 concurrent, coalesced into one (no MySQL/Redis) | ${formatNs(snap.coalesced100Ms * 1e6)} |`,
    );
    out(`| \`snapshot()\` cold (no MySQL/Redis) | ${formatNs(snap.coldMs * 1e6)} |`);
  }
  out();
  const worst = Math.max(report.buildTextMs, report.buildJsonMs);
  check('report build for 1,000 spans (text and JSON)', `${worst.toFixed(2)} ms`, '≤ 2 ms', worst <= 2);
}

function memorySection(cases: MemoryCase[]): void {
  out('## Memory (`--expose-gc`, heap + ArrayBuffer deltas over many live traces, real `TraceReporter` as the sink)');
  out();
  out(
    '| in-flight traces | spans each | bytes per trace | budget (2 KB + 64 B/span) | retained per trace after they end |',
  );
  out('|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const limit = 2048 + 64 * c.spansPerTrace;
    out(
      `| ${c.traces.toLocaleString('en')} | ${c.spansPerTrace} | ${formatBytes(c.bytesPerTrace)} | ${formatBytes(limit)} | ${formatBytes(c.retainedAfterEnd)} |`,
    );
    check(
      `retained per in-flight trace, ${c.spansPerTrace} spans`,
      formatBytes(c.bytesPerTrace),
      `≤ ${formatBytes(limit)}`,
      c.bytesPerTrace <= limit,
    );
  }
  const after = Math.max(...cases.map((c) => c.retainedAfterEnd));
  check('retained after traces end (≈ 0)', formatBytes(after), '≤ 64 B / trace', after <= 64);
  out();
}

function backgroundSection(result: BackgroundResult): void {
  out('## Background work (an `@Interval` tick and a BullMQ job running the ten service methods of the HTTP app)');
  out();
  out(
    "Traced as the `cron` and `queue` entry points wrap them (a trace of its own per tick or job, nothing reported) against the same bodies untraced; CPU of this process per tick or job (`process.cpuUsage()`), the two alternated in short rounds. A job includes BullMQ's own work in the worker process (local Redis, concurrency 1). No budget: the issue asks for the ratios.",
  );
  out();
  out('| work | untraced | traced | ratio (median of rounds, range) | traces, spans each |');
  out('|---|---:|---:|---:|---:|');
  const row = (name: string, pair: BackgroundPair): void => {
    const [low, high] = range(pair.ratios);
    out(
      `| ${name} | ${formatNs(pair.untracedUs * 1000)} | ${formatNs(pair.tracedUs * 1000)} | ${ratio(median(pair.ratios))} (${ratio(low)} – ${ratio(high)}) | ${pair.traces.toLocaleString('en')}, ${pair.spansPerTrace.toFixed(0)} |`,
    );
  };
  row('`@Interval` tick', result.tick);
  if ('skipped' in result.job) out(`| BullMQ job | skipped: ${result.job.skipped} | | | |`);
  else row('BullMQ job (`WorkerHost.process`)', result.job);
  out();
}

function dbSection(db: DbResult, node = process.version): void {
  out(
    `## Database round trips on Node ${node} (local MariaDB \`SELECT 1\`, Redis \`GET\`; ${db.rounds} interleaved rounds)`,
  );
  out();
  if (db.skipped) {
    out(`TODO: skipped — ${db.skipped}`);
    check(`Node ${node}: query spans add ≤ 5 % to SELECT 1 / GET`, 'n/a', '≤ 1.05 ×', undefined);
    out();
    return;
  }
  out('| call | per round trip | spread |');
  out('|---|---:|---:|');
  for (const [name, values] of Object.entries(db.perRound)) {
    const [low, high] = range(values);
    out(
      `| ${name} | ${formatNs((db.us[name] ?? Number.NaN) * 1000)} | ${formatNs(low * 1000)} – ${formatNs(high * 1000)} |`,
    );
  }
  out();
  out(
    `Traced = inside \`TraceContext.run\`, the DataSource / client instrumented by the library (\`instrumentDataSource\`, \`instrumentRedis\`); ${Object.entries(
      db.checks,
    )
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}.`,
  );
  out();
  // The budgets: each pair on its own, strictly alternated (db.ts `alternate`); the shuffled table's ratio beside it.
  const shuffledSql = paired(db.perRound['typeorm query, traced'], db.perRound['typeorm query'], (x, y) => x / y);
  const shuffledRedis = paired(db.perRound['ioredis GET, traced'], db.perRound['ioredis GET'], (x, y) => x / y);
  const sqlPair = db.pairs.sql;
  const redisPair = db.pairs.redis;
  const sql = median(sqlPair?.ratios ?? []);
  const redis = median(redisPair?.ratios ?? []);
  const [sqlLow, sqlHigh] = range(sqlPair?.ratios ?? []);
  const [redisLow, redisHigh] = range(redisPair?.ratios ?? []);
  out(
    `Budget pairs, each measured on its own (the bare call outside any trace against the traced call in a trace of its own, alternated call by call, two clients swapping roles every round; median of ${sqlPair?.ratios.length ?? 0} round ratios, range in brackets): TypeORM \`SELECT 1\` ${formatNs((sqlPair?.bareUs ?? Number.NaN) * 1000)} → ${formatNs((sqlPair?.tracedUs ?? Number.NaN) * 1000)}, ${ratio(sql)} (${ratio(sqlLow)} – ${ratio(sqlHigh)}); ioredis \`GET\` ${formatNs((redisPair?.bareUs ?? Number.NaN) * 1000)} → ${formatNs((redisPair?.tracedUs ?? Number.NaN) * 1000)}, ${ratio(redis)} (${ratio(redisLow)} – ${ratio(redisHigh)}). In the shuffled table above the same pairs read ${ratio(shuffledSql)} and ${ratio(shuffledRedis)}.`,
  );
  out();
  check(`Node ${node}: SQL span on TypeORM \`SELECT 1\``, ratio(sql), '≤ 1.05 ×', sql <= 1.05);
  check(`Node ${node}: Redis span on ioredis \`GET\``, ratio(redis), '≤ 1.05 ×', redis <= 1.05);
  const pgPair = db.pairs.pg;
  if (pgPair) {
    const pg = median(pgPair.ratios);
    const [pgLow, pgHigh] = range(pgPair.ratios);
    out(
      `PostgreSQL pair, same method: TypeORM (pg) \`SELECT 1\` ${formatNs(pgPair.bareUs * 1000)} → ${formatNs(pgPair.tracedUs * 1000)}, ${ratio(pg)} (${ratio(pgLow)} – ${ratio(pgHigh)}).`,
    );
    out();
    check(`Node ${node}: SQL span on TypeORM (pg) \`SELECT 1\``, ratio(pg), '≤ 1.05 ×', pg <= 1.05);
  } else {
    out('PostgreSQL pair: skipped (no server at POSTGRES_URL).');
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const startedAt = new Date();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const sections: Array<() => Promise<void>> = [];
  const nodes = nodeBinaries();
  const others = nodes.filter((node) => node.path !== process.execPath);
  const here = nodes.find((node) => node.path === process.execPath);
  // Micro and HTTP run on every Node found (this one and `.node<N>/`), as users run the library on each.
  if (only.has('micro'))
    for (const node of nodes)
      sections.push(async () =>
        microSection(await runSection<MicroResult>('micro/micro.js', [], [], node.path), node.version),
      );
  if (only.has('report')) sections.push(async () => reportSection(await runSection<ReportResult>('report/report.js')));
  if (only.has('memory'))
    sections.push(async () =>
      memorySection((await runSection<{ cases: MemoryCase[] }>('memory/memory.js', [], ['--expose-gc'])).cases),
    );
  // The SQL and Redis budgets hold on every Node version, as the micro ones do.
  if (only.has('db'))
    for (const node of nodes)
      sections.push(async () => {
        try {
          dbSection(await runSection<DbResult>('db/db.js', [], [], node.path), node.version);
        } catch (error) {
          const skipped = `failed: ${(error as Error).message.split('\n')[0] ?? ''}`;
          dbSection({ rounds: 0, us: {}, perRound: {}, pairs: {}, checks: {}, skipped }, node.version);
        }
      });
  if (only.has('background'))
    sections.push(async () => backgroundSection(await runSection<BackgroundResult>('background/background.js')));
  if (only.has('http')) {
    if (here) sections.push(async () => httpSection(await runSection<HttpResult>('http/http.js')));
    // The apps run on the other binary; autocannon stays on this one.
    for (const node of others) {
      sections.push(async () => {
        process.env.BENCH_APP_NODE = node.path;
        try {
          httpSection(await runSection<HttpResult>('http/http.js'), node.version);
        } finally {
          delete process.env.BENCH_APP_NODE;
        }
      });
    }
  }
  for (const run of sections) await run();
  const missing = [22, 24].filter((major) => !nodes.some((node) => node.major === major));
  if (process.env.BENCH_NODES === undefined)
    for (const major of missing) check(`Node ${major}: micro, database and HTTP`, 'not run', 'same budgets', undefined);
  const seconds = (performance.now() - started) / 1000;

  const head: string[] = [];
  head.push('# nestjs-trace benchmark results');
  head.push('');
  head.push(`- Date: ${startedAt.toISOString()}`);
  head.push(
    `- Node ${process.version} (${process.platform}/${process.arch}), ${availableParallelism()} CPUs (nproc), ${cpuModel()}`,
  );
  head.push(
    `- Load average (1 min) at start / end: ${loadBefore.toFixed(2)} / ${(loadavg()[0] ?? Number.NaN).toFixed(2)} — other work on this VM shows up as noise`,
  );
  head.push(`- Command: \`npm run bench\` (sections: ${[...only].join(', ')}), took ${seconds.toFixed(0)} s`);
  head.push('');
  head.push('## Budgets');
  head.push('');
  head.push('| budget | measured | limit | result |');
  head.push('|---|---:|---:|:---:|');
  for (const b of budgets)
    head.push(
      `| ${b.name} | ${b.measured} | ${b.limit} | ${b.status === 'FAIL' ? '**FAIL**' : b.status === 'INCONCLUSIVE' ? '*INCONCLUSIVE*' : b.status} |`,
    );
  head.push('');
  if (process.env.BENCH_NODES === undefined && missing.length > 0) {
    head.push(
      `SKIP: Node ${missing.join(' and ')} not found: \`npm i --no-save --prefix .node${missing[0] ?? 24} node@${missing[0] ?? 24}\` (the same for each), then \`npm run bench\`.`,
    );
    head.push('');
  }
  head.push(
    'INCONCLUSIVE: the 95 % confidence interval of the measured ratio contains the limit, so this run can say neither PASS nor FAIL (more rounds, `BENCH_HTTP_ROUNDS`, or a quieter machine narrow it).',
  );
  head.push('');
  const markdown = `${[...head, ...lines].join('\n')}\n`;
  process.stdout.write(markdown);
  // BENCH_RESULTS=<file>: a trial run written elsewhere, leaving bench/results/latest.md and docs/ as they are.
  const elsewhere = process.env.BENCH_RESULTS;
  if (elsewhere !== undefined) {
    writeFileSync(elsewhere, markdown);
    progress(`wrote ${elsewhere} in ${seconds.toFixed(0)} s`);
    return;
  }
  const results = fileURLToPath(new URL('../../results/', import.meta.url));
  mkdirSync(results, { recursive: true });
  writeFileSync(`${results}latest.md`, markdown);
  progress(`wrote bench/results/latest.md in ${seconds.toFixed(0)} s`);
  // docs/performance.md is made from these results, never edited by hand.
  execFileSync(process.execPath, [fileURLToPath(new URL('../../../scripts/performance-doc.mjs', import.meta.url))], {
    stdio: 'inherit',
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
