// node scripts/stall-cost.mjs [--seconds 20] [--blocks 10]   (after `npm run build`; needs a quiet machine)
// What the blocked-loop watchdog costs, for docs/stalls.md: the watchdog off and on, each in a fresh child process
// running a Nest app that loaded express, socket.io and typeorm (a realistic number of scripts):
// - idle CPU: process.cpuUsage() (user + system, all threads: main and watchdog) over `--seconds` of an idle app,
//   in % of one core;
// - RSS after the app started and idled a second;
// - time to stack: for `--blocks` blocks of 600 ms, the time from the start of the block to the moment the watchdog's
//   hook ran on the blocked main thread (the threshold is 200 ms, so ~215 ms is detection alone).
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { seconds: { type: 'string' }, blocks: { type: 'string' }, child: { type: 'string' } },
});
const seconds = Number(args.seconds ?? 20);
const blocks = Number(args.blocks ?? 10);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function child(mode) {
  await import('reflect-metadata');
  const { Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  await import('@nestjs/platform-express');
  await import('socket.io');
  await import('typeorm');
  const { TraceModule } = await import('../dist/esm/index.js');
  class AppModule {}
  Module({
    imports: [
      TraceModule.forRoot({
        format: 'json',
        stream: { write: () => true },
        blockedThresholdMs: mode === 'off' ? false : 200,
        otel: { enabled: false },
      }),
    ],
  })(AppModule);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  await app.init();
  await sleep(1000);
  const rssMB = Math.round(process.memoryUsage().rss / 1048576);
  const before = process.cpuUsage();
  const started = performance.now();
  await sleep(seconds * 1000);
  const used = process.cpuUsage(before);
  const idlePercent = ((used.user + used.system) / 1000 / (performance.now() - started)) * 100;

  const toStack = [];
  if (mode !== 'off') {
    // The hooks the watchdog's worker calls (see src/stall/stall-watchdog.ts): one per app, by id.
    const registry = process.getBuiltinModule('node:worker_threads')[Symbol.for('nestjs-trace.stall')];
    let blockStart = 0;
    const [[id, original]] = [...registry];
    registry.set(id, {
      caught(beat) {
        toStack.push(performance.now() - blockStart);
        return original.caught(beat);
      },
    });
    for (let i = 0; i < blocks; i++) {
      blockStart = performance.now();
      while (performance.now() - blockStart < 600);
      await sleep(300);
    }
    registry.set(id, original);
  }
  await app.close();
  toStack.sort((a, b) => a - b);
  const median = toStack[Math.floor(toStack.length / 2)];
  process.stdout.write(
    JSON.stringify({
      mode,
      rssMB,
      idleCpuPercentOfOneCore: Math.round(idlePercent * 1000) / 1000,
      stacksRead: toStack.length,
      msToStackMedian: median === undefined ? null : Math.round(median),
      msToStackMax: toStack.length ? Math.round(toStack[toStack.length - 1]) : null,
    }) + '\n',
  );
}

if (args.child) {
  await child(args.child);
} else {
  const self = fileURLToPath(import.meta.url);
  const rows = [];
  for (const mode of ['off', 'on']) {
    const run = spawnSync(
      process.execPath,
      [self, '--child', mode, '--seconds', String(seconds), '--blocks', String(blocks)],
      { encoding: 'utf8' },
    );
    if (run.status !== 0) throw new Error(`${mode}: ${run.stderr}`);
    rows.push(JSON.parse(run.stdout.trim().split('\n').pop()));
  }
  console.log(JSON.stringify({ node: process.version, seconds, blocks, rows }, null, 1));
}
