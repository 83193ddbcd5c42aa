// node scripts/profile-cost.mjs [--starts 5] [--runs 3]   (after `npm run build`; needs a quiet machine)
// What a CPU profile (option `profile`) costs, for docs/stalls.md. In a fresh child process per run, a Nest app that
// loaded express, socket.io and typeorm (so V8 has a realistic amount of compiled code to list), through an inspector
// session of its own with the library's sampling interval:
// - start: how long `Profiler.start` holds the main thread, the first time and the later times (`--starts`);
// - stop, JSON.stringify and the file's size of a one-second profile;
// - sampler overhead: a CPU-bound loop's throughput while a profile records, against the same loop without one.
import inspector from 'node:inspector';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { starts: { type: 'string' }, runs: { type: 'string' }, child: { type: 'boolean' } },
});
const starts = Number(args.starts ?? 5);
const runs = Number(args.runs ?? 3);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function crunch(ms) {
  const end = performance.now() + ms;
  let loops = 0;
  let x = 0;
  while (performance.now() < end) {
    for (let i = 1; i <= 10_000; i++) x += Math.sqrt(i) * Math.sin(i);
    loops++;
  }
  return x > 0 ? loops : loops + 1;
}

async function child() {
  await import('reflect-metadata');
  const { Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  await import('@nestjs/platform-express');
  await import('socket.io');
  await import('typeorm');
  const { TraceModule } = await import('../dist/esm/index.js');
  const { SAMPLING_INTERVAL_US } = await import('../dist/esm/profile/profiler-session.js');
  class AppModule {}
  Module({
    imports: [TraceModule.forRoot({ blockedThresholdMs: false, otel: { enabled: false } })],
  })(AppModule);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  await app.init();
  await sleep(500);

  const session = new inspector.Session();
  session.connect();
  const post = (method, params = {}) =>
    new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });

  const startMs = [];
  let stopMs = 0;
  let stringifyMs = 0;
  let bytes = 0;
  for (let i = 0; i < starts; i++) {
    const t0 = performance.now();
    await post('Profiler.start');
    startMs.push(performance.now() - t0);
    crunch(1000);
    const t1 = performance.now();
    const { profile } = await post('Profiler.stop');
    const t2 = performance.now();
    const json = JSON.stringify(profile);
    const t3 = performance.now();
    stopMs = Math.max(stopMs, t2 - t1);
    stringifyMs = Math.max(stringifyMs, t3 - t2);
    bytes = Math.max(bytes, json.length);
    await sleep(100);
  }

  // Throughput: alternate plain and profiled seconds so that a busy neighbour hurts both alike.
  let plain = 0;
  let profiled = 0;
  for (let i = 0; i < 3; i++) {
    plain += crunch(1000);
    await post('Profiler.start');
    profiled += crunch(1000);
    await post('Profiler.stop');
  }
  session.disconnect();
  await app.close();
  process.stdout.write(
    `${JSON.stringify({ startMs, stopMs, stringifyMs, bytes, overheadPercent: (1 - profiled / plain) * 100 })}\n`,
  );
}

if (args.child) {
  await child();
} else {
  const script = fileURLToPath(import.meta.url);
  const results = [];
  for (let run = 0; run < runs; run++) {
    const out = spawnSync(process.execPath, [script, '--child', '--starts', String(starts)], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(out.stderr);
    results.push(JSON.parse(out.stdout.trim()));
  }
  const f = (n) => n.toFixed(1);
  console.log(`Node ${process.version}, ${runs} runs, ${starts} starts each (ms):`);
  for (const r of results) {
    const later = r.startMs.slice(1);
    console.log(
      `first start ${f(r.startMs[0])}  later starts ${f(Math.min(...later))}–${f(Math.max(...later))}  ` +
        `stop ${f(r.stopMs)}  stringify ${f(r.stringifyMs)}  file ${Math.round(r.bytes / 1024)} KB  ` +
        `sampler overhead ${f(r.overheadPercent)} %`,
    );
  }
}
