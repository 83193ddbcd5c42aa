/**
 * Slots of the watchdog's shared `Int32Array` (see `stall-watchdog.ts`).
 * - BEAT: bumped by the main thread on every heartbeat.
 * - SEEN: the BEAT value during which the worker saw the loop stuck (`-1`: none); the main thread reports that stall.
 * - PAUSE: 1 while the main thread may be paused to read its stack (0 under a debugger, see `stall-watchdog.ts`).
 * - STOP: 1 once the main thread is closing: the worker must not pause it any more.
 */
export const SLOT = { BEAT: 0, SEEN: 1, PAUSE: 2, STOP: 3 } as const;
export const SLOTS = 4;

/** The expression the worker evaluates on the paused main thread; the hook's key, shared by both sides. */
export const STALL_HOOK_KEY = 'nestjs-trace.stall';

/**
 * The watchdog worker's code, run with `new Worker(source, { eval: true })`. A string rather than a file of its own:
 * the library ships as ESM and CommonJS, runs from `src/` under ts-jest, and gets bundled by webpack in Nest apps, and a
 * worker file path would have to be right in all of them; an eval'd CommonJS script is the same everywhere.
 *
 * It polls the shared heartbeat every `pollMs` (a timer on the worker's own loop, which must stay free: the inspector
 * delivers its messages through it). When the beat has not moved for `thresholdMs + pollMs` it marks the stall as seen
 * and, unless told not to, pauses the main thread through the inspector (`Debugger.pause` is served by an interrupt, so
 * it works while the main thread runs JavaScript), copies its call frames, hands them to the main thread's hook with
 * `Runtime.evaluate` (the hook also reads which trace was current: the main thread's own AsyncLocalStorage), resumes.
 *
 * Pitfalls this handles: a pause can land after the loop turned again (a block in native code is interruptible only
 * once it returns to JavaScript), so frames are dropped when the beat moved meanwhile; the main thread must never be
 * paused while it exits (the `STOP` slot), or the process would hang; one pause per stall; every failure inside the
 * worker goes to the main thread as a message, never as an uncaught error that could reach the app.
 */
export const WATCHDOG_WORKER_SOURCE = `
'use strict';
const { workerData, parentPort } = require('node:worker_threads');
const inspector = require('node:inspector');
const { thresholdMs, pollMs, enableEarly } = workerData;
const shared = new Int32Array(workerData.buffer);
const BEAT = ${SLOT.BEAT}, SEEN = ${SLOT.SEEN}, PAUSE = ${SLOT.PAUSE}, STOP = ${SLOT.STOP};
const HOOK = 'globalThis[Symbol.for(' + JSON.stringify(${JSON.stringify(STALL_HOOK_KEY)}) + ')]';

// Receivers that say nothing about where a function lives: plain objects, the global, Node's timer and module objects.
const PLAIN = new Set(['Object', 'global', 'Window', 'Timeout', 'Immediate', 'process', 'Module', 'EventEmitter']);
const scripts = new Map();
let session;
let enabled = false;
let lastBeat = Atomics.load(shared, BEAT);
let lastChange = performance.now();
let handled = -1;
let pausedFor = -1;

function fail(where, error) {
  try { parentPort.postMessage({ type: 'failed', where, message: String(error && error.stack || error) }); } catch {}
}

function connect() {
  if (session) return true;
  try {
    session = new inspector.Session();
    session.connectToMainThread();
    session.on('Debugger.scriptParsed', (event) => { scripts.set(event.params.scriptId, event.params.url); });
    session.on('Debugger.paused', onPaused);
    return true;
  } catch (error) {
    session = undefined;
    fail('inspector session', error);
    return false;
  }
}

// Between stalls no session stays connected: a connected session makes process.exit() print "Waiting for the debugger
// to disconnect..." and costs the main thread a message for every script it compiles.
function disconnect() {
  try { session.disconnect(); } catch {}
  session = undefined;
  enabled = false;
}

function enable(then) {
  if (enabled) return then();
  session.post('Debugger.enable', (error) => {
    if (error) { if (!enableEarly) disconnect(); return fail('Debugger.enable', error); }
    enabled = true;
    then();
  });
}

function onPaused(event) {
  // Only our own pause (reason "other"); a breakpoint of someone else's session is not ours to resume.
  if (event.params.reason !== 'other' || pausedFor < 0) return;
  const beat = pausedFor;
  pausedFor = -1;
  if (Atomics.load(shared, BEAT) !== beat || Atomics.load(shared, STOP) === 1) return resume();
  const frames = event.params.callFrames.slice(0, 60).map((frame) => ({
    f: frame.functionName,
    t: frame.this && frame.this.type === 'object' && !PLAIN.has(frame.this.className) ? frame.this.className : undefined,
    u: frame.url || scripts.get(frame.location.scriptId) || '',
    l: frame.location.lineNumber + 1,
    c: (frame.location.columnNumber || 0) + 1,
  }));
  const expression = HOOK + ' && ' + HOOK + '.caught(' + beat + ', ' + JSON.stringify(frames) + ')';
  // Evaluated on the innermost frame of the app's own code, so the hook is looked up in that frame's realm (a vm
  // context, as under jest, has a globalThis of its own); Node's internal frames hide some globals, so not those.
  const own = event.params.callFrames.find((frame, i) => frames[i] && frames[i].u && !frames[i].u.startsWith('node:'));
  const done = (error) => {
    if (error) fail('evaluate', error);
    resume();
  };
  if (own) session.post('Debugger.evaluateOnCallFrame', { callFrameId: own.callFrameId, expression, silent: true }, done);
  else session.post('Runtime.evaluate', { expression, silent: true }, done);
}

function resume() {
  session.post('Debugger.resume', () => {
    if (!enableEarly) disconnect();
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
  if (Atomics.load(shared, PAUSE) !== 1 || !connect()) return;
  enable(() => {
    if (Atomics.load(shared, STOP) === 1 || Atomics.load(shared, BEAT) !== beat) return enableEarly || disconnect();
    pausedFor = beat;
    session.post('Debugger.pause', (error) => {
      if (!error) return;
      pausedFor = -1;
      if (!enableEarly) disconnect();
      fail('Debugger.pause', error);
    });
  });
}

try {
  if (enableEarly && Atomics.load(shared, PAUSE) === 1 && connect()) enable(() => {});
  const timer = setInterval(() => { try { poll(); } catch (error) { fail('poll', error); } }, pollMs);
  // A clean stop: disconnect (which disables what the session enabled), then end. Not 'Debugger.disable' first: on
  // Node 20 and 24, disable + disconnect + thread exit aborts the process now and then (SIGABRT, 1 run in 6 here).
  parentPort.on('message', (message) => {
    if (message !== 'stop') return;
    clearInterval(timer);
    if (session) disconnect();
    parentPort.close();
  });
  parentPort.postMessage({ type: 'ready' });
} catch (error) {
  fail('start', error);
}
`;
