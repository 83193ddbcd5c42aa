import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ActiveTrace } from '../../src/context/active-trace.js';
import type { TraceSink } from '../../src/context/active-trace.js';
import { SystemMetricsService, TraceModule } from '../../src/index.js';
import { formatJson } from '../../src/report/json-format.js';
import { formatText } from '../../src/report/text-format.js';
import { buildTraceRecord } from '../../src/report/trace-record.builder.js';
import { resolveOptions } from '../../src/resolve-options.js';
import { progress, section } from '../lib/child.js';
import { median } from '../lib/stats.js';

export interface ReportResult {
  spans: number;
  /** ms per call, medians over repetitions. */
  buildMs: number;
  buildTextMs: number;
  buildJsonMs: number;
  textLines: number;
  jsonBytes: number;
  /** SystemMetricsService.snapshot(): µs per call while the last snapshot is reused, and the cold one in ms. */
  snapshot?: { cachedUs: number; coalesced100Ms: number; coldMs: number } | { error: string };
}

const SPANS = 1000;
const REPEAT = Number(process.env.BENCH_REPORT_REPEAT ?? 300);

const names = [
  'OrdersService.handle',
  'OrdersRepository.find',
  'PricingService.price',
  'TaxService.rate',
  'AuditService.write',
];

/** A finished 1,000-span trace shaped like a request: a few levels of nesting, some logs, a SQL span, an error. */
function buildTrace(): ActiveTrace {
  const sink: TraceSink = { maxSpans: SPANS + 1, opened() {}, finished() {} };
  const context = new ActiveTrace(
    {
      transport: 'http',
      handlerName: 'handle',
      handlerClass: { name: 'OrdersController' },
      method: 'GET',
      route: '/orders/:id',
    },
    sink,
    'OrdersController.handle',
  );
  const stack = [0];
  for (let i = 1; i < SPANS; i++) {
    const parent = stack[stack.length - 1] ?? 0;
    const span = context.openSpan(names[i % names.length] ?? 'x', parent);
    if (i % 97 === 0)
      context.setDb(span, {
        system: 'mysql',
        statement: `SELECT * FROM orders WHERE id = ${i} AND status = 'open'`,
        rows: 1,
      });
    if (i % 211 === 0) context.endSpan(span, true, new Error(`failed ${i}`));
    if (i % 5 === 1 && stack.length < 6) stack.push(span);
    else {
      context.endSpan(span, false);
      if (i % 7 === 0 && stack.length > 1) {
        const done = stack.pop() ?? 0;
        context.endSpan(done, false);
      }
    }
  }
  for (const open of stack.reverse()) context.endSpan(open, false);
  return context;
}

function time(fn: () => unknown): number {
  for (let i = 0; i < 30; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

@Module({ imports: [TraceModule.forRoot({ dataSource: false, redis: false })] })
class MetricsAppModule {}

async function snapshotTiming(): Promise<ReportResult['snapshot']> {
  try {
    const app = await NestFactory.createApplicationContext(MetricsAppModule, { logger: false });
    try {
      const service = app.get(SystemMetricsService);
      await new Promise((resolve) => setTimeout(resolve, 600));
      let start = performance.now();
      await service.snapshot();
      const coldMs = performance.now() - start;
      const samples: number[] = [];
      for (let i = 0; i < 200; i++) {
        start = performance.now();
        await service.snapshot();
        samples.push((performance.now() - start) * 1000);
      }
      await new Promise((resolve) => setTimeout(resolve, 600)); // past the reuse window: the next one is fresh
      start = performance.now();
      await Promise.all(Array.from({ length: 100 }, () => service.snapshot()));
      const coalesced100Ms = performance.now() - start;
      return { cachedUs: median(samples), coalesced100Ms, coldMs };
    } finally {
      await app.close();
    }
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

section(async (): Promise<ReportResult> => {
  const options = resolveOptions({});
  const context = buildTrace();
  if (context.count !== SPANS) throw new Error(`expected ${SPANS} spans, got ${context.count}`);
  const record = buildTraceRecord(context, 'slow', undefined, options);
  const text = formatText(record);
  const json = formatJson(record);
  const buildMs = time(() => buildTraceRecord(context, 'slow', undefined, options));
  const buildTextMs = time(() => formatText(buildTraceRecord(context, 'slow', undefined, options)));
  const buildJsonMs = time(() => formatJson(buildTraceRecord(context, 'slow', undefined, options)));
  progress('report path done');
  const snapshot = await snapshotTiming();
  return {
    spans: SPANS,
    buildMs,
    buildTextMs,
    buildJsonMs,
    textLines: text.split('\n').length,
    jsonBytes: json.length,
    snapshot,
  };
});
