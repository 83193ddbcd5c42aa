import type { TraceFrame } from '../context/trace-storage.js';
import { isLibraryFrame } from '../report/library-frames.js';
import { handlerName, routeName } from '../report/trace-record.builder.js';
import { scriptPath } from '../report/script-path.js';
import type {
  BlockedRecord,
  BlockedStackFrame,
  BlockedTraceInfo,
  GcPause,
  ProfileRecord,
  SystemMetrics,
} from '../trace.types.js';

/** Frames kept in a blocked report. */
export const MAX_BLOCKED_FRAMES = 20;

/** One call frame of the blocked stack, as the watchdog's hook reads it from V8's call sites (see `main-thread-stack.ts`). */
export interface RawFrame {
  /** Function name. */
  f: string;
  /** Class of `this`, when it is an instance of one. */
  t?: string;
  /** Script URL (`file:///…`, a path, or `node:internal/…`). */
  u: string;
  /** 1-based line and column. */
  l: number;
  c: number;
}

/** What the main thread knows about one block once the loop turned again. */
export interface BlockFacts {
  blockedMs: number;
  /** `Date.now()` when the block started (about: the last heartbeat before it). */
  startedAtEpochMs: number;
  frames: readonly RawFrame[] | undefined;
  stackUnavailable: string | undefined;
  frame: TraceFrame | undefined;
  gc: GcPause[];
  /** The CPU profile started when the block ended (option `profile`), if one was. */
  profile?: Promise<ProfileRecord | undefined>;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

/** Innermost first, the library's own frames removed, at most {@link MAX_BLOCKED_FRAMES}. */
export function blockedStack(frames: readonly RawFrame[]): BlockedStackFrame[] {
  const stack: BlockedStackFrame[] = [];
  for (const frame of frames) {
    const file = scriptPath(frame.u);
    const at = `:${frame.l}:${frame.c})`;
    if (isLibraryFrame(`    at x (${frame.u}${at}`) || isLibraryFrame(`    at x (${file}${at}`)) continue;
    const name = frame.f === '' ? '(anonymous)' : frame.f;
    stack.push({ function: frame.t ? `${frame.t}.${name}` : name, file, line: frame.l, column: frame.c });
    if (stack.length === MAX_BLOCKED_FRAMES) break;
  }
  return stack;
}

function traceInfo(frame: TraceFrame | undefined): BlockedTraceInfo | null {
  if (frame === undefined) return null;
  const { trace, span } = frame;
  return {
    traceId: trace.traceId,
    transport: trace.origin.transport,
    handler: handlerName(trace),
    route: routeName(trace),
    span: trace.names[span] ?? trace.names[0] ?? '',
  };
}

/** The `{"type":"blocked"}` report of one block. */
export function buildBlockedRecord(
  facts: BlockFacts,
  metrics: SystemMetrics | undefined,
  profile?: ProfileRecord,
): BlockedRecord {
  const record: BlockedRecord = {
    type: 'blocked',
    blockedMs: round(facts.blockedMs),
    at: new Date(facts.startedAtEpochMs).toISOString(),
    stack: facts.frames ? blockedStack(facts.frames) : [],
    trace: traceInfo(facts.frame),
    gc: facts.gc,
  };
  if (facts.stackUnavailable !== undefined && record.stack.length === 0)
    record.stackUnavailable = facts.stackUnavailable;
  if (metrics) record.metrics = metrics;
  if (profile) record.profile = profile;
  return record;
}
