import type { RawFrame } from './blocked-record.builder.js';

/** Frames read from the blocked stack (the report keeps 20 after the library's own are removed). */
const MAX_FRAMES = 60;

/** Receivers that say nothing about where a function lives: plain objects, the global, Node's timer and module objects. */
const PLAIN_RECEIVERS = new Set([
  'Object',
  'global',
  'Window',
  'Timeout',
  'Immediate',
  'process',
  'Module',
  'EventEmitter',
]);

/** `Error`'s V8 statics, as properties (Node's typings declare `prepareStackTrace` as a method). */
interface ErrorStatics {
  prepareStackTrace?: (error: Error, stack: NodeJS.CallSite[]) => unknown;
  stackTraceLimit: number;
}

/**
 * The call frames below the caller of `below`, innermost first, as V8's structured call sites (not the `stack`
 * string: no formatting, no source-map lookup while the loop is held, and the receiver's class comes for free).
 * Called by the watchdog's hook while V8 runs it in an interrupt on top of the code that blocks the loop; `skip`
 * drops the frames of the evaluated expression that called the hook.
 */
export function mainThreadStack(below: (...args: never[]) => unknown, skip: number): RawFrame[] {
  const holder: { stack?: unknown } = {};
  const errorClass = Error as unknown as ErrorStatics;
  const prepare = errorClass.prepareStackTrace;
  const limit = errorClass.stackTraceLimit;
  try {
    errorClass.prepareStackTrace = (_error, sites) => sites;
    errorClass.stackTraceLimit = MAX_FRAMES + skip;
    Error.captureStackTrace(holder, below);
    const sites = holder.stack as NodeJS.CallSite[] | undefined;
    if (!Array.isArray(sites)) return [];
    const frames: RawFrame[] = [];
    for (let i = skip; i < sites.length; i++) frames.push(rawFrame(sites[i] as NodeJS.CallSite));
    return frames;
  } finally {
    errorClass.prepareStackTrace = prepare;
    errorClass.stackTraceLimit = limit;
  }
}

function rawFrame(site: NodeJS.CallSite): RawFrame {
  const type = site.isToplevel() ? null : site.getTypeName();
  return {
    f: site.getFunctionName() ?? site.getMethodName() ?? '',
    t: type !== null && !PLAIN_RECEIVERS.has(type) ? type : undefined,
    u: site.getFileName() ?? site.getScriptNameOrSourceURL?.() ?? '',
    l: site.getLineNumber() ?? 0,
    c: site.getColumnNumber() ?? 0,
  };
}
