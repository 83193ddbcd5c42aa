// npm run soak [-- --minutes 3 --clients 10]: a bounded soak of the example game server, loopback only.
// Runs the example in this process (started with --expose-gc, so the heap is read after a real GC), drives mixed
// HTTP + Socket.IO load with ~5 % slow and ~1 % failing calls, and prints what was served, unexpected errors (must
// be 0), heap after GC at start and end, and the reports written against the ones expected.
// SQLite in memory and the in-process room store by default; MYSQL_URL / REDIS_URL switch to real servers.
/* global setInterval, clearInterval, fetch, AbortSignal */
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';
import { configFromEnv } from '../examples/game-server/dist/examples/game-server/src/config.js';
import { startGameServer } from '../examples/game-server/dist/examples/game-server/src/server.js';

const { values: args } = parseArgs({ options: { minutes: { type: 'string' }, clients: { type: 'string' } } });
const minutes = Number(args.minutes ?? process.env.SOAK_MINUTES ?? 3);
const clientCount = Number(args.clients ?? 10);
if (!(minutes > 0 && minutes <= 60)) throw new Error(`--minutes must be in (0, 60] (got ${args.minutes})`);
if (!(Number.isInteger(clientCount) && clientCount >= 1 && clientCount <= 200))
  throw new Error('--clients must be 1..200');
const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('run with node --expose-gc (npm run soak does)');

const SLOW_SHARE = 0.05;
const FAIL_SHARE = 0.01;
const MISSING_ROOM = 2_000_000_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line) => process.stderr.write(`[soak] ${line}\n`);
const heapMB = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

// Report lines (JSON mode) reach this stream through the library's output seam (option `stream`) and are counted.
const reports = { slow: 0, error: 0, hung: 0, ok: 0, malformed: 0 };
const reportedTraceIds = new Set();
const reportStream = {
  write(text) {
    for (const line of text.split('\n').filter(Boolean)) {
      try {
        const record = JSON.parse(line);
        reports[record.outcome] = (reports[record.outcome] ?? 0) + 1;
        reportedTraceIds.add(record.traceId);
      } catch {
        reports.malformed++;
      }
    }
    return true;
  },
};

const config = {
  ...configFromEnv({ ...process.env, TRACE_FORMAT: 'json', PORT: '0', HOST: '127.0.0.1' }),
  reportStream,
};
const server = await startGameServer(config, { nestLogs: false });
const base = server.url;
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(base)) throw new Error(`not loopback: ${base}`);
log(
  `example on ${base} (${config.mysqlUrl ? 'MySQL' : 'SQLite'} + ${config.redisUrl ? 'Redis' : 'in-process store'}), ${clientCount} clients, ${minutes} min`,
);

const stats = { served: 0, http: 0, ws: 0, slowCalls: 0, failCalls: 0, deliberateFailures: 0, unexpected: new Map() };
const unexpected = (what) => stats.unexpected.set(what, (stats.unexpected.get(what) ?? 0) + 1);

function emit(socket, event, body) {
  return new Promise((resolve) => {
    const onException = (error) => finish({ ok: false, error: error?.message ?? 'exception' });
    let done = false;
    const finish = (reply) => {
      if (done) return;
      done = true;
      socket.off('exception', onException);
      resolve(reply);
    };
    socket.once('exception', onException);
    socket
      .timeout(10_000)
      .emit(event, body, (error, value) =>
        finish(error ? { ok: false, error: 'no reply within 10 s' } : { ok: true, value }),
      );
  });
}

async function get(path) {
  const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  return response.status;
}

async function player(index, until) {
  const socket = io(`${base}/game`, { transports: ['websocket'], reconnection: false });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  let room;
  let n = 0;
  while (Date.now() < until && socket.connected) {
    n++;
    const roll = Math.random();
    try {
      if (roll < FAIL_SHARE) {
        stats.failCalls++;
        // The deliberate failures: a missing room over HTTP (404) or Socket.IO (WsException).
        if (n % 2) {
          const status = await get(`/rooms/${MISSING_ROOM}`);
          if (status === 404) stats.deliberateFailures++;
          else unexpected(`GET missing room → ${status}`);
        } else {
          const reply = await emit(socket, 'joinRoom', { roomId: MISSING_ROOM });
          if (!reply.ok && /does not exist/.test(reply.error)) stats.deliberateFailures++;
          else unexpected(`joinRoom missing room → ${JSON.stringify(reply)}`);
        }
      } else if (roll < FAIL_SHARE + SLOW_SHARE) {
        stats.slowCalls++;
        if (room) await emit(socket, 'leaveRoom', { roomId: room.id });
        const reply = await emit(socket, 'createRoom', { name: `slow-${index}-${n}` });
        if (reply.ok) room = reply.value;
        else unexpected(`slow createRoom: ${reply.error}`);
      } else if (roll < 0.5) {
        const status = await get(room && roll < 0.3 ? `/rooms/${room.id}` : '/rooms');
        if (status !== 200) unexpected(`GET → ${status}`);
      } else if (!room) {
        const reply = await emit(socket, 'createRoom', { name: `room-${index}-${n}` });
        if (reply.ok) room = reply.value;
        else unexpected(`createRoom: ${reply.error}`);
      } else if (roll < 0.85) {
        const reply = await emit(socket, 'chat', { roomId: room.id, text: `hello ${n}` });
        if (!reply.ok) unexpected(`chat: ${reply.error}`);
      } else {
        const reply = await emit(socket, 'leaveRoom', { roomId: room.id });
        if (!reply.ok) unexpected(`leaveRoom: ${reply.error}`);
        room = undefined;
      }
      stats.served++;
    } catch (error) {
      unexpected(`client: ${error?.message ?? error}`);
    }
    await sleep(20 + Math.random() * 30);
  }
  socket.close();
}

async function drive(ms) {
  const until = Date.now() + ms;
  const results = await Promise.allSettled(Array.from({ length: clientCount }, (_, i) => player(i + 1, until)));
  for (const result of results)
    if (result.status === 'rejected') unexpected(`connect: ${result.reason?.message ?? result.reason}`);
}

// Warm-up (JIT, pools, caches) is not counted; then the baseline heap.
await drive(5000);
await sleep(1500);
const startHeap = heapMB();
for (const key of Object.keys(reports)) reports[key] = 0;
Object.assign(stats, { served: 0, slowCalls: 0, failCalls: 0, deliberateFailures: 0 });
stats.unexpected.clear();

const started = Date.now();
const total = minutes * 60_000;
const ticker = setInterval(
  () =>
    log(
      `${Math.round((Date.now() - started) / 1000)} s: ${stats.served} served, ${reports.slow} slow / ${reports.error} error reports`,
    ),
  15_000,
);
ticker.unref();
await drive(total);
clearInterval(ticker);
await sleep(2000); // the last reports (written after the response, with a snapshot)
const endHeap = heapMB();
await server.close();

const expected = stats.slowCalls + stats.failCalls;
const emitted = reports.slow + reports.error + reports.hung;
const unexpectedCount = [...stats.unexpected.values()].reduce((a, b) => a + b, 0);
const lines = [
  `duration            ${minutes} min, ${clientCount} Socket.IO clients + HTTP, loopback`,
  `requests served     ${stats.served} (${Math.round(stats.served / (total / 1000))}/s): ${stats.slowCalls} slow on purpose, ${stats.failCalls} failing on purpose`,
  `unexpected errors   ${unexpectedCount}${unexpectedCount ? ` ${JSON.stringify([...stats.unexpected])}` : ''}`,
  `heap after GC       start ${startHeap.toFixed(1)} MB, end ${endHeap.toFixed(1)} MB (${endHeap - startHeap >= 0 ? '+' : ''}${(endHeap - startHeap).toFixed(1)} MB)`,
  `reports             ${emitted} emitted (${reports.slow} slow, ${reports.error} error, ${reports.hung} hung, ${reports.malformed} malformed) vs ${expected} expected`,
];
process.stdout.write(lines.join('\n') + '\n');
process.exitCode =
  unexpectedCount === 0 && reports.malformed === 0 && stats.deliberateFailures === stats.failCalls ? 0 : 1;
