// Profiling helper (not part of `npm run bench`): runs `@Trace` sync inside traces for a few seconds.
//   node --cpu-prof --cpu-prof-dir=bench/results bench/dist/bench/experiments/profile-sync.js
import 'reflect-metadata';
import { TraceContext } from '../../src/context/trace-context.js';
import { defaultSink } from '../../src/context/default-sink.js';
import { TracedService } from '../micro/subjects.js';

defaultSink.current = { maxSpans: 100_000, opened() {}, finished() {} };
const traced = new TracedService();
let blackhole = 0;
const until = Date.now() + Number(process.env.SECONDS ?? 4) * 1000;
while (Date.now() < until) {
  TraceContext.run('batch', () => {
    for (let i = 0; i < 1000; i++) blackhole += traced.add(i);
  });
}
console.log(blackhole > 0 ? 'done' : '');
