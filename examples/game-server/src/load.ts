// A bounded load run: N Socket.IO clients for T seconds on loopback create, join, chat in, leave, kick from and finish
// matches in rooms, with the example's slow path (room names starting with "slow") and failing path (joining a full
// room) mixed in.
// Starts the example server in a child process when nothing answers at --url, and stops it at the end.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';

const USAGE =
  'npm run example:load -- [--clients 20] [--seconds 10] [--url http://127.0.0.1:3000]\n(env: LOAD_CLIENTS, LOAD_SECONDS, GAME_URL)\n';
let parsed;
try {
  parsed = parseArgs({
    options: {
      clients: { type: 'string', short: 'c' },
      seconds: { type: 'string', short: 's' },
      url: { type: 'string', short: 'u' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (error) {
  process.stderr.write(`[load] ${(error as Error).message}\nusage: ${USAGE}`);
  process.exit(2);
}
const args = parsed.values;
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function bounded(name: string, raw: string | undefined, fallback: number, max: number): number {
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new Error(`${name} must be an integer from 1 to ${max} (got ${raw})`);
  return value;
}

const clientsCount = bounded('--clients', args.clients ?? process.env.LOAD_CLIENTS, 20, 500);
const seconds = bounded('--seconds', args.seconds ?? process.env.LOAD_SECONDS, 10, 600);
const url = new URL(args.url ?? process.env.GAME_URL ?? `http://127.0.0.1:${process.env.PORT || 3000}`);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
  throw new Error(`the load script only talks to loopback (got ${url.hostname})`);
const base = url.origin;

const stats = { sent: 0, ok: 0, slow: 0, errors: new Map<string, number>() };
type ReportCounts = { slow: number; error: number };
const rooms: number[] = [];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

async function reachable(): Promise<boolean> {
  try {
    const response = await fetch(`${base}/rooms`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

async function startServer(): Promise<ChildProcess> {
  const main = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
  process.stderr.write(`[load] nothing answers at ${base}: starting the example (${main}) on port ${url.port || 80}\n`);
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, PORT: url.port || '80', HOST: '127.0.0.1' },
    stdio: 'inherit',
  });
  const deadline = Date.now() + 30_000;
  while (!(await reachable())) {
    if (child.exitCode !== null) throw new Error(`the example server exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('the example server did not answer within 30 s');
    await sleep(200);
  }
  return child;
}

type Reply<T> = { ok: true; value: T } | { ok: false; error: string };

/** Emits with an ack; a WsException arrives as an `exception` event instead of the ack. */
function request<T>(socket: Socket, event: string, body: unknown): Promise<Reply<T>> {
  stats.sent++;
  return new Promise((resolve) => {
    const onException = (error: { message?: string }): void => done({ ok: false, error: error.message ?? 'exception' });
    let settled = false;
    const done = (reply: Reply<T>): void => {
      if (settled) return;
      settled = true;
      socket.off('exception', onException);
      if (reply.ok) stats.ok++;
      else {
        const kind = reply.error.replace(/"[^"]*"/g, '"…"');
        stats.errors.set(kind, (stats.errors.get(kind) ?? 0) + 1);
      }
      resolve(reply);
    };
    socket.once('exception', onException);
    socket
      .timeout(10_000)
      .emit(event, body, (error: Error | null, value: T) =>
        done(error ? { ok: false, error: 'no reply within 10 s' } : { ok: true, value }),
      );
  });
}

interface RoomView {
  id: number;
  hostId: string;
  players: number;
}

function connect(): Promise<Socket> {
  const socket = io(`${base}/game`, { transports: ['websocket'], reconnection: false });
  return new Promise<Socket>((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

async function player(index: number, deadline: number): Promise<void> {
  const socket = await connect();
  let room: RoomView | undefined;
  const others = new Set<string>();
  socket.on('playerJoined', (e: { playerId: string }) => others.add(e.playerId));
  socket.on('playerLeft', (e: { playerId: string }) => others.delete(e.playerId));
  socket.on('kicked', () => (room = undefined));
  let n = 0;
  while (Date.now() < deadline && socket.connected) {
    n++;
    const roll = Math.random();
    if (!room) {
      const target = pick(rooms);
      if (target === undefined || roll < 0.3) {
        const slow = Math.random() < 0.08;
        if (slow) stats.slow++;
        const reply = await request<RoomView>(socket, 'createRoom', {
          name: `${slow ? 'slow' : 'room'}-${index}-${n}`,
        });
        if (reply.ok) {
          room = reply.value;
          rooms.push(room.id);
          others.clear();
        }
      } else {
        // Often full: rooms hold 4 players. That is the failing path.
        const reply = await request<RoomView>(socket, 'joinRoom', { roomId: target });
        if (reply.ok) room = reply.value;
      }
    } else if (roll < 0.55) {
      await request(socket, 'chat', { roomId: room.id, text: `hello from player ${index}` });
    } else if (roll < 0.65 && room.hostId === socket.id && others.size > 0) {
      await request(socket, 'kick', { roomId: room.id, playerId: pick([...others]) });
    } else if (roll < 0.7 && room.hostId === socket.id) {
      // The host wins (always a player of the room). With REDIS_URL a BullMQ job: a "slow…" room's is reported SLOW.
      await request(socket, 'finishMatch', { roomId: room.id, winner: socket.id });
    } else if (roll < 0.85) {
      await request(socket, 'leaveRoom', { roomId: room.id });
      room = undefined;
    } else {
      await request(socket, 'joinRoom', { roomId: pick(rooms) });
    }
    await sleep(50 + Math.random() * 150);
  }
  socket.close();
}

/**
 * SLOW and ERROR reports of the server's Socket.IO handlers so far, from the handler histograms on GET /metrics
 * (each finished trace counted by outcome: the same decision that reports it). Undefined when not available.
 */
async function reportCounts(): Promise<ReportCounts | undefined> {
  try {
    const response = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return undefined;
    const counts = { slow: 0, error: 0 };
    const line = /^nestjs_trace_handler_duration_seconds_count\{transport="ws",[^}]*outcome="(slow|error)"\} (\d+)$/gm;
    for (const [, outcome, count] of (await response.text()).matchAll(line))
      counts[outcome as 'slow' | 'error'] += Number(count);
    return counts;
  } catch {
    return undefined;
  }
}

/**
 * The failing path, on purpose: a host creates a room and players join it one by one until one is refused
 * (`Room "…" is full`). Random joins alone rarely meet a full room.
 */
async function fullRoom(): Promise<void> {
  const host = await connect();
  const guests: Socket[] = [];
  try {
    const created = await request<RoomView & { capacity: number }>(host, 'createRoom', { name: 'full-house' });
    if (!created.ok) return;
    rooms.push(created.value.id);
    for (let seat = 1; seat <= created.value.capacity; seat++) {
      const guest = await connect();
      guests.push(guest);
      const joined = await request<RoomView>(guest, 'joinRoom', { roomId: created.value.id });
      if (!joined.ok) break;
    }
  } finally {
    for (const socket of [host, ...guests]) socket.close();
  }
}

function progress(elapsed: number): string {
  const width = 20;
  const done = Math.min(width, Math.round((elapsed / seconds) * width));
  const errors = [...stats.errors.values()].reduce((a, b) => a + b, 0);
  return `[load] ${'█'.repeat(done)}${'░'.repeat(width - done)} ${Math.min(elapsed, seconds)}/${seconds} s  ${clientsCount} clients  ${stats.sent} events (${Math.round(stats.sent / Math.max(elapsed, 1))}/s)  ${stats.slow} slow  ${errors} failed`;
}

const child = (await reachable()) ? undefined : await startServer();
const reportsBefore = await reportCounts();
const started = Date.now();
const deadline = started + seconds * 1000;
process.stderr.write(`[load] ${clientsCount} clients for ${seconds} s against ${base}/game\n`);
const ticker = setInterval(
  () => process.stderr.write(progress(Math.round((Date.now() - started) / 1000)) + '\n'),
  1000,
);
const results = await Promise.allSettled([
  fullRoom(),
  ...Array.from({ length: clientsCount }, (_, i) => player(i + 1, deadline)),
]);
clearInterval(ticker);
process.stderr.write(progress(seconds) + '\n');

const failedClients = results.filter((r) => r.status === 'rejected');
// Reports are written when a handler finishes: give the last ones a moment.
await sleep(500);
const reportsAfter = await reportCounts();
const reports =
  reportsBefore && reportsAfter
    ? `server reports: ${reportsAfter.slow - reportsBefore.slow} SLOW, ${reportsAfter.error - reportsBefore.error} ERROR`
    : 'server reports: unknown (no /metrics at the server)';
const summary = [
  `[load] done: ${stats.sent} events, ${stats.ok} acknowledged, ${rooms.length} rooms created`,
  `[load] ${stats.slow} createRoom requests sent to the slow path; ${reports}`,
  ...[...stats.errors].map(([message, count]) => `[load]   ${count} × ${message}`),
  ...(failedClients.length
    ? [
        `[load] ${failedClients.length} clients could not connect: ${String((failedClients[0] as PromiseRejectedResult).reason)}`,
      ]
    : []),
];
process.stderr.write(summary.join('\n') + '\n');
if (child) {
  // Let the last reports print before the server goes.
  await sleep(1000);
  child.kill('SIGTERM');
  await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
}
