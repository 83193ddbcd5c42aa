import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { pinToCpu, progress, section } from '../lib/child.js';
import { median } from '../lib/stats.js';

export const ALL_HTTP_VARIANTS = [
  'plain',
  'als',
  'trace',
  'trace-slow',
  'otel',
  'trace-root',
  'als-mw',
  'als-mw-nested',
  'als-nestmw',
  'trace-root-lean',
  'trace-root-bare',
  'trace-root-nostall',
  'trace-nostall',
  'trace-otel',
  'trace-otel-sampled',
] as const;
export type HttpVariant = (typeof ALL_HTTP_VARIANTS)[number];
/** The default run; `BENCH_HTTP_VARIANTS=als,trace,trace-root` picks others (diagnostics). */
const HTTP_VARIANTS: readonly HttpVariant[] = (
  process.env.BENCH_HTTP_VARIANTS ?? 'plain,als,als-mw,als-mw-nested,trace,trace-slow,otel'
)
  .split(',')
  .map((v) => v.trim())
  .filter((v): v is HttpVariant => (ALL_HTTP_VARIANTS as readonly string[]).includes(v));

export interface HttpResult {
  rounds: number;
  durationS: number;
  connections: number;
  /** Load generator and apps ran on separate CPUs. */
  pinned: boolean;
  /** variant → req/s per round. */
  perRound: Record<HttpVariant, number[]>;
  /** variant → median req/s. */
  rps: Record<HttpVariant, number>;
  /** variant → the app's CPU time per request (µs) per round. */
  cpuPerRound: Record<HttpVariant, number[]>;
  /** variant → median CPU µs per request. */
  cpuUs: Record<HttpVariant, number>;
  /** variant → median p99 latency (ms). */
  p99: Record<HttpVariant, number>;
  errors: number;
}

// Many short rounds rather than a few long ones: the budgets are judged on per-round ratios with a confidence interval
// (bench/lib/stats.ts `ratioInterval`), whose width shrinks with the number of rounds, and a burst of other work on the
// machine spoils one short round instead of a long one.
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 16);
const DURATION_S = Number(process.env.BENCH_HTTP_SECONDS ?? 1);
const WARMUP_S = 2;
const CONNECTIONS = 50;

// On a 2-core VM the load generator and the app fight for the same cores; pinned apart (autocannon on CPU 0, the app
// and its GC threads on CPU 1) each round measures the app's own CPU cost, and rounds vary far less.
const LOAD_CPU = 0;
const APP_CPU = 1;
let pinned = true;
function pin(pid: number, cpu: number): void {
  if (!pinToCpu(pid, cpu)) pinned = false;
}

interface App {
  variant: HttpVariant;
  child: ChildProcess;
  url: string;
}

function start(variant: HttpVariant): Promise<App> {
  const path = fileURLToPath(new URL('./app.js', import.meta.url));
  // Each variant in its own process (own heap, own JIT, own async hooks); its stdout (the slow reports) is discarded.
  // BENCH_APP_NODE: another Node binary for the apps (the Node 24 comparison); autocannon stays on this one.
  const child = fork(path, [variant], {
    execPath: process.env.BENCH_APP_NODE ?? process.execPath,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  if (child.pid !== undefined) pin(child.pid, APP_CPU);
  return new Promise((resolve, reject) => {
    child.once('message', (message) =>
      resolve({ variant, child, url: `http://127.0.0.1:${(message as { port: number }).port}` }),
    );
    child.once('exit', (code) => reject(new Error(`app ${variant} exited early (${String(code)})`)));
  });
}

/** 1 request in 100 carries `slow=1` (sleeps past the `trace-slow` threshold) — the same mix for every variant. */
const REQUESTS = Array.from({ length: 100 }, (_, i) => ({
  method: 'GET',
  path: `/orders?id=${i + 1}${i === 50 ? '&slow=1' : ''}`,
}));

/** The app's own CPU time (user + system, µs) so far. */
function appCpu(app: App): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown): void => {
      const cpu = (message as { cpu?: NodeJS.CpuUsage }).cpu;
      if (!cpu) return;
      app.child.off('message', onMessage);
      resolve(cpu.user + cpu.system);
    };
    app.child.on('message', onMessage);
    app.child.send('cpu');
  });
}

async function load(app: App, seconds: number): Promise<{ rps: number; cpuUs: number; p99: number; errors: number }> {
  const before = await appCpu(app);
  const result = await autocannon({ url: app.url, connections: CONNECTIONS, duration: seconds, requests: REQUESTS });
  const cpu = (await appCpu(app)) - before;
  return {
    rps: result.requests.average,
    cpuUs: cpu / Math.max(1, result.requests.total),
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/**
 * The variants the budgets compare, run next to each other every round: bare ALS middleware · TraceModule · the bare
 * floor of exact nesting · OTel.
 */
const BUDGET_BLOCK: readonly HttpVariant[] = ['als-mw', 'trace', 'als-mw-nested', 'otel'];

/**
 * Every variant once per round. Neighbours in time share the machine's state (other work on it comes and goes within
 * seconds), so the budgets' variants run back to back as one block, `trace` in its middle; the block and the other
 * variants rotate from round to round and the order reverses every other round, so no variant always runs first,
 * last or after the same one.
 */
function roundOrder(apps: readonly App[], round: number): App[] {
  const block = BUDGET_BLOCK.map((variant) => apps.find((app) => app.variant === variant)).filter(
    (app): app is App => app !== undefined,
  );
  const units: App[][] = [block, ...apps.filter((app) => !block.includes(app)).map((app) => [app])].filter(
    (unit) => unit.length > 0,
  );
  const shift = round % units.length;
  const rotated = [...units.slice(shift), ...units.slice(0, shift)].flat();
  return round % 2 === 0 ? rotated : rotated.reverse();
}

section(async (): Promise<HttpResult> => {
  const apps: App[] = [];
  pin(process.pid, LOAD_CPU);
  try {
    for (const variant of HTTP_VARIANTS) apps.push(await start(variant));
    for (const app of apps) await load(app, WARMUP_S);
    progress('http warm-up done');
    const perRound = Object.fromEntries(HTTP_VARIANTS.map((v) => [v, [] as number[]])) as Record<HttpVariant, number[]>;
    const cpuPerRound = Object.fromEntries(HTTP_VARIANTS.map((v) => [v, [] as number[]])) as Record<
      HttpVariant,
      number[]
    >;
    const p99s = Object.fromEntries(HTTP_VARIANTS.map((v) => [v, [] as number[]])) as Record<HttpVariant, number[]>;
    let errors = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const app of roundOrder(apps, round)) {
        const result = await load(app, DURATION_S);
        perRound[app.variant].push(result.rps);
        cpuPerRound[app.variant].push(result.cpuUs);
        p99s[app.variant].push(result.p99);
        errors += result.errors;
      }
      progress(
        `http round ${round + 1}/${ROUNDS}: ${apps.map((a) => `${a.variant} ${perRound[a.variant][round]?.toFixed(0)}/s ${cpuPerRound[a.variant][round]?.toFixed(1)}µs`).join(', ')}`,
      );
    }
    const rps = Object.fromEntries(HTTP_VARIANTS.map((v) => [v, median(perRound[v])])) as Record<HttpVariant, number>;
    const p99 = Object.fromEntries(HTTP_VARIANTS.map((v) => [v, median(p99s[v])])) as Record<HttpVariant, number>;
    const cpuUs = Object.fromEntries(HTTP_VARIANTS.map((v) => [v, median(cpuPerRound[v])])) as Record<
      HttpVariant,
      number
    >;
    return {
      rounds: ROUNDS,
      durationS: DURATION_S,
      connections: CONNECTIONS,
      pinned,
      perRound,
      rps,
      cpuPerRound,
      cpuUs,
      p99,
      errors,
    };
  } finally {
    for (const app of apps) app.child.kill();
  }
});
