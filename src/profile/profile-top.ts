import type { ProfileFunction } from '../trace.types.js';
import type { CpuProfile, CpuProfileNode } from './cpu-profile.types.js';
import { scriptPath } from '../report/script-path.js';

/** Functions kept in a report's `profile.top`. */
export const PROFILE_TOP = 10;

/**
 * V8's pseudo-frames that are not the app's work: `(root)` (never sampled), `(idle)` (the loop waiting for I/O) and
 * `(program)` (native work V8 cannot attribute: compiling, the inspector itself). `(garbage collector)` is kept: GC
 * time is caused by the app's allocations, and when it is on top that is the answer.
 */
const NOT_WORK = new Set(['(root)', '(idle)', '(program)']);

const round = (ms: number): number => Math.round(ms * 100) / 100;

/**
 * Self time per node, in microseconds, from the samples: each sample stands for the time until the next one (the
 * last one until `endTime`), as Chrome DevTools counts it. Intervals vary (the sampler thread is not a real-time one),
 * so this is closer than `hitCount` × the sampling interval, which is the fallback when a profile has no samples.
 */
function selfMicros(profile: CpuProfile, nodes: readonly CpuProfileNode[]): Map<number, number> {
  const self = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  if (samples !== undefined && timeDeltas !== undefined && samples.length > 0 && samples.length === timeDeltas.length) {
    let at = profile.startTime;
    const times = new Array<number>(samples.length);
    for (let i = 0; i < samples.length; i++) {
      at += timeDeltas[i] ?? 0;
      times[i] = at;
    }
    for (let i = 0; i < samples.length; i++) {
      const next = i + 1 < samples.length ? (times[i + 1] ?? at) : Math.max(profile.endTime, at);
      const id = samples[i] ?? 0;
      self.set(id, (self.get(id) ?? 0) + Math.max(0, next - (times[i] ?? 0)));
    }
    return self;
  }
  const hits = nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const each = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
  for (const node of nodes) if (node.hitCount) self.set(node.id, node.hitCount * each);
  return self;
}

/**
 * The `limit` functions with the most self time, heaviest first. A function reached through several call paths is
 * several nodes of the tree; they are summed into one entry (same name, script and line).
 */
export function topFunctions(profile: CpuProfile, limit = PROFILE_TOP): ProfileFunction[] {
  const self = selfMicros(profile, profile.nodes);
  const byFunction = new Map<string, ProfileFunction & { micros: number }>();
  for (const node of profile.nodes) {
    const micros = self.get(node.id);
    if (micros === undefined || micros <= 0) continue;
    const { functionName, url, lineNumber, scriptId } = node.callFrame;
    if (NOT_WORK.has(functionName)) continue;
    const key = `${functionName}\u0000${scriptId}\u0000${url}\u0000${lineNumber}`;
    const entry = byFunction.get(key);
    if (entry !== undefined) {
      entry.micros += micros;
      continue;
    }
    byFunction.set(key, {
      function: functionName === '' ? '(anonymous)' : functionName,
      file: scriptPath(url),
      line: lineNumber >= 0 ? lineNumber + 1 : 0,
      selfMs: 0,
      micros,
    });
  }
  return [...byFunction.values()]
    .sort((a, b) => b.micros - a.micros)
    .slice(0, limit)
    .map(({ micros, ...entry }) => ({ ...entry, selfMs: round(micros / 1000) }));
}
