// node scripts/stall-detection.mjs [--blocks 100] [--threshold 100]   (after `npm run build`)
// The blocked-loop watchdog's detection check (docs/stalls.md). Phase 1: synthetic blocks (busy loops) of random
// length 2–4 × the threshold at a random call depth (1–30), half inside a trace and half outside: every block must be
// reported, with the blocking function (`burn`) among the top 3 frames, and inside a trace with that trace's id.
// Phase 2: as many busy stretches no longer than 0.75 × the threshold, the loop turning between them: zero reports.
// Prints the counts and exits 1 when a check fails.

import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TraceContext, TraceModule } from '../dist/esm/index.js';

const { values: args } = parseArgs({ options: { blocks: { type: 'string' }, threshold: { type: 'string' } } });
const blocks = Number(args.blocks ?? 100);
const threshold = Number(args.threshold ?? 100);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const random = (min, max) => min + Math.random() * (max - min);

const reports = [];
const stream = {
  write: (line) =>
    reports.push(
      ...line
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ),
};

/** The blocking function: it keeps the CPU busy for `ms` without yielding. */
function burn(ms) {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) n++;
  return n;
}

/** Calls itself `depth` times, then blocks: the stack under `burn` is `depth` frames of `descend` deep. */
function descend(depth, ms) {
  return depth <= 1 ? burn(ms) : descend(depth - 1, ms) + 0;
}

class AppModule {}
Module({
  imports: [TraceModule.forRoot({ format: 'json', stream, blockedThresholdMs: threshold, otel: { enabled: false } })],
})(AppModule);
const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
await app.init();
await sleep(300);

const expected = [];
for (let i = 0; i < blocks; i++) {
  const ms = random(2 * threshold, 4 * threshold);
  const depth = Math.floor(random(1, 31));
  if (i % 2 === 0) {
    TraceContext.run(`block${i}`, () => {
      expected.push({ ms, depth, traceId: TraceContext.current()?.traceId, startedAt: Date.now() });
      descend(depth, ms);
    });
  } else {
    expected.push({ ms, depth, traceId: undefined, startedAt: Date.now() });
    descend(depth, ms);
  }
  await sleep(threshold);
}
await sleep(500);
const blocked = reports.filter((r) => r.type === 'blocked');
let missed = 0;
let notOnTop = 0;
let wrongTrace = 0;
for (const block of expected) {
  // A report's `at` is the last heartbeat before the block: at most one beat (threshold / 4) before its start.
  const report = blocked.find((r) => !r.used && Math.abs(Date.parse(r.at) - block.startedAt) <= threshold / 2 + 20);
  if (report === undefined) {
    missed++;
    missedBlocks.push({
      startedAt: new Date(block.startedAt).toISOString(),
      ms: Math.round(block.ms),
      depth: block.depth,
    });
    continue;
  }
  report.used = true;
  if (!report.stack.slice(0, 3).some((frame) => frame.function === 'burn')) notOnTop++;
  if ((report.trace?.traceId ?? undefined) !== block.traceId) wrongTrace++;
}
const extra = blocked
  .filter((r) => !r.used)
  .map((r) => ({ at: r.at, blockedMs: r.blockedMs, top: r.stack.slice(0, 3) }));
const missedBlocks = [];

// Phase 2: never blocked beyond the threshold.
reports.length = 0;
for (let i = 0; i < blocks; i++) {
  descend(Math.floor(random(1, 31)), random(0, 0.75 * threshold));
  await sleep(5);
}
await sleep(500);
const falseReports = reports.filter((r) => r.type === 'blocked');
await app.close();

const blockedMs = blocked.map((r) => r.blockedMs);
console.log(
  JSON.stringify({
    node: process.version,
    thresholdMs: threshold,
    blocks: expected.length,
    reported: blocked.length,
    missed,
    blockingFunctionNotInTop3: notOnTop,
    wrongTrace,
    extraReports: extra.length,
    shortBlocks: blocks,
    reportsForShortBlocks: falseReports.length,
    missedBlocks,
    unmatchedReports: [...extra, ...falseReports.map((r) => ({ blockedMs: r.blockedMs, top: r.stack.slice(0, 3) }))],
    blockedMsRange: [Math.min(...blockedMs), Math.max(...blockedMs)],
  }),
);
process.exitCode = missed === 0 && notOnTop === 0 && wrongTrace === 0 && falseReports.length === 0 ? 0 : 1;
