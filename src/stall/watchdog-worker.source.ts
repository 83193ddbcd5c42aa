/**
 * Slots of the watchdog's shared `Int32Array` (see `stall-watchdog.ts`).
 * - BEAT: bumped by the main thread on every heartbeat.
 * - SEEN: the BEAT value during which the worker saw the loop stuck (`-1`: none); the main thread reports that stall.
 * - STOP: 1 once the main thread is closing: the worker must not reach into it any more.
 */
export const SLOT = { BEAT: 0, SEEN: 1, STOP: 2 } as const;
export const SLOTS = 3;

/** The key (`Symbol.for`) under which the main thread keeps its stall hooks; shared by both sides. */
export const STALL_HOOK_KEY = 'nestjs-trace.stall';

/**
 * The expression the worker evaluates on the main thread: the registry of hooks, kept on Node's `worker_threads`
 * module object, which is the same object in every realm of the process (a vm context, as under jest, has a globalThis
 * of its own, but `require('node:worker_threads')` there is the process's module). `process.getBuiltinModule` is there
 * from Node 20.16; before it, the registry is on the main realm's globalThis.
 */
export const STALL_REGISTRY_EXPRESSION =
  "(typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule('node:worker_threads') : globalThis)" +
  `[Symbol.for(${JSON.stringify(STALL_HOOK_KEY)})]`;

/**
 * The watchdog worker's code, run with `new Worker(source, { eval: true })`. A string rather than a file of its own:
 * the library ships as ESM and CommonJS, runs from `src/` under ts-jest, and gets bundled by webpack in Nest apps, and a
 * worker file path would have to be right in all of them; an eval'd CommonJS script is the same everywhere.
 *
 * It polls the shared heartbeat every `pollMs` (a timer on the worker's own loop, which must stay free: the inspector
 * delivers its messages through it). When the beat has not moved for `thresholdMs + pollMs` it marks the stall as seen
 * and connects an inspector session to the main thread and has it evaluate a call to the main
 * thread's hook (`Runtime.evaluate`). V8 runs that in an interrupt on top of the JavaScript that is blocking the loop,
 * so the hook sees the blocked code's stack (`Error.captureStackTrace`) and its AsyncLocalStorage context, the trace
 * that was running. No `Debugger` domain, no pause: nothing to resume, and nothing the inspector must announce. V8 must
 * otherwise list every script the app has loaded to a session that enables `Debugger` (1-2 s on the main thread in a
 * test process with thousands of scripts), and a main thread left paused would hang the app.
 *
 * Pitfalls this handles: the evaluation can land after the loop turned again (a block in native code is interruptible
 * only once it returns to JavaScript), so the hook drops it when the beat moved; the main thread is never reached into
 * while it exits (the `STOP` slot); one evaluation per stall; the session is connected only for it, so a
 * `process.exit()` never waits for the inspector; every failure inside the worker goes to the main thread as a
 * message, never as an uncaught error that could reach the app.
 */
export const WATCHDOG_WORKER_SOURCE = `
'use strict';
const { workerData, parentPort } = require('node:worker_threads');
const inspector = require('node:inspector');
const { thresholdMs, pollMs, hookId } = workerData;
const shared = new Int32Array(workerData.buffer);
const BEAT = ${SLOT.BEAT}, SEEN = ${SLOT.SEEN}, STOP = ${SLOT.STOP};
const REGISTRY = ${JSON.stringify(STALL_REGISTRY_EXPRESSION)};
let session;
let lastBeat = Atomics.load(shared, BEAT);
let lastChange = performance.now();
let handled = -1;

function fail(where, error) {
  try { parentPort.postMessage({ type: 'failed', where, message: String(error && error.stack || error) }); } catch {}
}

function disconnect() {
  const s = session;
  session = undefined;
  try { if (s) s.disconnect(); } catch {}
}

function readStack(beat) {
  try {
    session = new inspector.Session();
    session.connectToMainThread();
  } catch (error) {
    session = undefined;
    return fail('inspector session', error);
  }
  const hook = '(' + REGISTRY + ')';
  const expression = hook + ' && ' + hook + '.get(' + hookId + ')?.caught(' + beat + ')';
  session.post('Runtime.evaluate', { expression, silent: true, returnByValue: true }, (error) => {
    disconnect();
    if (error) fail('evaluate', error);
  });
}

function poll() {
  if (Atomics.load(shared, STOP) === 1) return;
  const beat = Atomics.load(shared, BEAT);
  const now = performance.now();
  if (beat !== lastBeat) {
    lastBeat = beat;
    lastChange = now;
    return;
  }
  if (handled === beat || now - lastChange < thresholdMs + pollMs) return;
  handled = beat;
  Atomics.store(shared, SEEN, beat);
  if (session) return;
  readStack(beat);
}

try {
  const timer = setInterval(() => { try { poll(); } catch (error) { fail('poll', error); } }, pollMs);
  parentPort.on('message', (message) => {
    if (message !== 'stop') return;
    clearInterval(timer);
    disconnect();
    parentPort.close();
  });
  parentPort.postMessage({ type: 'ready' });
} catch (error) {
  fail('start', error);
}
`;
