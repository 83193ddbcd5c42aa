import type { ProbeError, ProfileRecord, SpanRecord, SystemMetrics, TraceRecord } from '../trace.types.js';
import { backgroundNote } from './background-text.js';

const MAX_LINES = 200;
/** Durations align in one column up to this label width; longer labels (long SQL) just run past it. */
const MAX_ALIGN = 60;
/** Runs of identical leaf siblings longer than this are folded into one line. */
const FOLD_AFTER = 3;

function isProbeError(value: unknown): value is ProbeError {
  return value !== null && typeof value === 'object' && 'status' in value && 'error' in value;
}

function ms(value: number): string {
  return `${value.toFixed(1)}ms`;
}

function num(value: unknown, digits = 0): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '?';
}

function probeText(value: ProbeError): string {
  return `${value.status} (${value.error})`;
}

interface Line {
  label: string;
  duration: string;
  note: string;
}

function spanNote(span: SpanRecord): string {
  const notes: string[] = [];
  if (span.error !== undefined) notes.push(`✗ ${span.error}`);
  if (span.errorCode !== undefined && span.error === undefined) notes.push(`✗ ${span.errorCode}`);
  if (span.poolWaitMs !== undefined) notes.push(`wait ${Math.round(span.poolWaitMs)}ms`);
  if (span.rows !== undefined) notes.push(`${span.rows} rows`);
  if (span.commands !== undefined) notes.push(`${span.commands} commands`);
  if (span.unfinished) notes.push('… still running');
  if (span.cancelled) notes.push('(unsubscribed)');
  for (const log of span.logs ?? []) notes.push(`» ${log}`);
  return notes.join('  ');
}

function spanLabel(span: SpanRecord): string {
  return span.kind === 'db' && (span.system === 'mysql' || span.system === 'postgresql') && span.statement
    ? `${span.system} ${span.statement}`
    : span.name;
}

/** Tree lines; long runs of the same leaf call under one parent are folded (`×998, total …`). */
function treeLines(spans: SpanRecord[]): Line[] {
  const lines: Line[] = [];
  for (let index = 0; index < spans.length; index++) {
    const span = spans[index] as SpanRecord;
    const isLeaf = (spans[index + 1]?.depth ?? -1) <= span.depth;
    let run = 1;
    if (isLeaf && span.error === undefined) {
      while (index + run < spans.length) {
        const next = spans[index + run] as SpanRecord;
        const nextIsLeaf = (spans[index + run + 1]?.depth ?? -1) <= next.depth;
        if (next.name !== span.name || next.depth !== span.depth || !nextIsLeaf || next.error !== undefined) break;
        run++;
      }
    }
    const indent = '  '.repeat(span.depth);
    if (run > FOLD_AFTER) {
      let total = 0;
      let max = 0;
      let maxWait: number | undefined;
      for (let k = 0; k < run; k++) {
        const { durationMs: duration, poolWaitMs } = spans[index + k] as SpanRecord;
        total += duration;
        max = Math.max(max, duration);
        if (poolWaitMs !== undefined) maxWait = Math.max(maxWait ?? 0, poolWaitMs);
      }
      const waitNote = maxWait === undefined ? '' : `  wait max ${Math.round(maxWait)}ms`;
      lines.push({
        label: `${indent}${spanLabel(span)} ×${run}`,
        duration: ms(total),
        note: `max ${ms(max)}${waitNote}`,
      });
      index += run - 1;
    } else {
      lines.push({ label: `${indent}${spanLabel(span)}`, duration: ms(span.durationMs), note: spanNote(span) });
    }
  }
  return lines;
}

/** Two summary lines: the machine, then MySQL, Redis and PostgreSQL. */
export function metricsLines(metrics: SystemMetrics): string[] {
  const machine: string[] = [];
  const { cpu, memory, eventLoop, mysql, redis } = metrics;
  machine.push(
    isProbeError(cpu)
      ? `cpu ${probeText(cpu)}`
      : `cpu ${num(cpu.systemPercent)}% (process ${num(cpu.processPercent)}%)`,
  );
  machine.push(
    isProbeError(memory)
      ? `mem ${probeText(memory)}`
      : `mem ${num(memory.system.usagePercent)}% (rss ${num(memory.process.rssMB)}MB, heap ${num(memory.process.heapUsedMB)}/${num(memory.process.heapTotalMB)}MB of ${num(memory.process.heapLimitMB)}MB)`,
  );
  machine.push(
    isProbeError(eventLoop)
      ? `loop ${probeText(eventLoop)}`
      : `loop p99 ${num(eventLoop.delayP99Ms, 1)}ms  util ${num(eventLoop.utilization, 2)}`,
  );
  const stores: string[] = [];
  if (mysql !== null) {
    if (isProbeError(mysql)) stores.push(`mysql ${probeText(mysql)}`);
    else {
      const { pool, server } = mysql;
      if (pool && !isProbeError(pool))
        stores.push(`mysql pool ${num(pool.active)}/${num(pool.total)} busy, ${num(pool.waiting)} waiting`);
      else if (pool) stores.push(`mysql pool ${probeText(pool)}`);
      stores.push(
        isProbeError(server)
          ? `server ${probeText(server)}`
          : `server threads ${num(server.threadsConnected)} connected / ${num(server.threadsRunning)} running`,
      );
    }
  }
  if (redis !== null) {
    stores.push(
      isProbeError(redis)
        ? `redis ${probeText(redis)}`
        : `redis ${num(redis.connectedClients)} clients, ${num(redis.usedMemoryMB, 1)}MB, ${num(redis.opsPerSec)} ops/s, queue ${num(redis.commandQueueLength)}`,
    );
  }
  const postgres = metrics.postgres;
  if (postgres !== null && postgres !== undefined) stores.push(postgresText(postgres));
  return stores.length > 0 ? [machine.join('  '), stores.join('  ')] : [machine.join('  ')];
}

/** `postgres pool 4 open, 1 idle, 0 waiting  server 12 connections / 3 active, 1 idle in tx, 0 on lock`. */
function postgresText(postgres: NonNullable<SystemMetrics['postgres']>): string {
  if (isProbeError(postgres)) return `postgres ${probeText(postgres)}`;
  const { pool, server } = postgres;
  const poolText = isProbeError(pool)
    ? `postgres pool ${probeText(pool)}`
    : `postgres pool ${num(pool.total)} open, ${num(pool.idle)} idle, ${num(pool.waiting)} waiting`;
  const serverText = isProbeError(server)
    ? `server ${probeText(server)}`
    : `server ${num(server.connections)} connections / ${num(server.active)} active, ${num(server.idleInTransaction)} idle in tx, ${num(server.waitingOnLock)} on lock`;
  return `${poolText}  ${serverText}`;
}

/** The CPU profile: where the file is, then its heaviest functions by self time, one a line. */
export function profileLines(profile: ProfileRecord): string[] {
  const where = profile.error === undefined ? profile.file : `${profile.file} (${profile.error})`;
  const out = [`cpu profile ${ms(profile.durationMs)} from ${profile.startedAt}: ${where}`];
  const width = profile.top.reduce((max, entry) => Math.max(max, ms(entry.selfMs).length), 0);
  for (const entry of profile.top) {
    const at = entry.file === '' ? '' : `  ${entry.file}:${entry.line}`;
    out.push(`  ${ms(entry.selfMs).padStart(width)} self  ${entry.function}${at}`);
  }
  return out;
}

/** The text report: a header, the indented call tree with aligned durations, then the metrics. */
export function formatText(record: TraceRecord): string {
  const header = `${record.outcome.toUpperCase()} ${ms(record.durationMs)}  ${record.transport} ${record.route}  ${record.handler}  trace=${record.traceId}${backgroundNote(record)}`;
  let lines = treeLines(record.spans);
  const hidden = lines.length > MAX_LINES ? lines.length - MAX_LINES : 0;
  if (hidden > 0) lines = lines.slice(0, MAX_LINES);
  const width = lines.reduce(
    (max, line) => (line.label.length > MAX_ALIGN ? max : Math.max(max, line.label.length)),
    0,
  );
  const durationWidth = lines.reduce((max, line) => Math.max(max, line.duration.length), 0);
  const out = [header];
  for (const line of lines) {
    const row = `${line.label.padEnd(width)}  ${line.duration.padStart(durationWidth)}`;
    out.push(line.note ? `${row}  ${line.note}` : row);
  }
  if (hidden > 0) out.push(`… ${hidden} more lines`);
  for (const finding of record.findings ?? []) {
    const via = finding.via === undefined ? '' : ` via ${finding.via}`;
    out.push(`${finding.kind} ${finding.count}× under ${finding.parent}${via}: ${finding.statement}`);
  }
  if (record.droppedSpans > 0) out.push(`(${record.droppedSpans} more spans not recorded: maxSpans)`);
  if (record.error) {
    out.push(`error ${record.error.name}: ${record.error.message}`);
    // Where it came from: the frames kept by errorInfo (library frames removed, cut to maxStackLength).
    const frames = record.error.stack?.split('\n').slice(1) ?? [];
    out.push(...frames.map((frame) => `  ${frame.trimStart()}`));
  }
  if (record.profile) out.push(...profileLines(record.profile));
  if (record.metrics) out.push(...metricsLines(record.metrics));
  return out.join('\n');
}
