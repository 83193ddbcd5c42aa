// node scripts/stall-cost.mjs [--seconds 20] [--blocks 10]   (after `npm run build`; needs a quiet machine)
// What the blocked-loop watchdog costs, for docs/stalls.md: for the watchdog off, with the inspector's Debugger domain
// enabled at start ("early") and enabled on each stall ("late"), each in a fresh child process running a Nest app
// that loaded express, socket.io and typeorm (so the inspector has a realistic number of scripts to announce):
// - idle CPU: process.cpuUsage() (user + system, all threads: main and watchdog) over `--seconds` of an idle app,
//   in % of one core;
// - time to stack: for `--blocks` blocks of 600 ms, the time from the start of the block to the moment the watchdog's
//   hook ran on the paused main thread (the threshold is 200 ms, so ~215 ms is detection alone).
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
  const before = process.cpuUsage();
  const started = performance.now();
  await sleep(seconds * 1000);
  const used = process.cpuUsage(before);
  const idlePercent = ((used.user + used.system) / 1000 / (performance.now() - started)) * 100;

  const toStack = [];
  if (mode !== 'off') {
    const hooks = globalThis;
    const key = Symbol.for('nestjs-trace.stall');
    let blockStart = 0;
    const original = hooks[key];
    hooks[key] = {
      caught(beat, frames) {
        toStack.push(performance.now() - blockStart);
        return original.caught(beat, frames);
      },
    };
    for (let i = 0; i < blocks; i++) {
      blockStart = performance.now();
      while (performance.now() - blockStart < 600);
      await sleep(300);
    }
    hooks[key] = original;
  }
  await app.close();
  toStack.sort((a, b) => a - b);
  const median = toStack[Math.floor(toStack.length / 2)];
  process.stdout.write(
    JSON.stringify({
      mode,
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
  for (const mode of ['off', 'early', 'late']) {
    const env = { ...process.env, NESTJS_TRACE_STALL_ENABLE_EARLY: mode === 'early' ? '1' : '0' };
    const run = spawnSync(
      process.execPath,
      [self, '--child', mode, '--seconds', String(seconds), '--blocks', String(blocks)],
      {
        env,
        encoding: 'utf8',
      },
    );
    if (run.status !== 0) throw new Error(`${mode}: ${run.stderr}`);
    rows.push(JSON.parse(run.stdout.trim().split('\n').pop()));
  }
  console.log(JSON.stringify({ node: process.version, seconds, blocks, rows }, null, 1));
}
