import type { ActiveTrace } from '../context/active-trace.js';
import type { DbSpanInfo } from '../context/span-extra.js';
import { normalizePostgresSql, normalizeSql, sqlOperation } from '../instrumentation/normalize-sql.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import type { TraceFinding } from '../trace.types.js';

/** A list of two or more values in parentheses after `IN`: one statement for many rows, not a repetition. */
const IN_LIST = /\bIN\s*\(\s*[^()\s][^()]*,/i;
/** `VALUES (…), (…)`: a multi-row INSERT. */
const MULTI_ROW_VALUES = /\bVALUES\s*\([^()]*(?:\([^()]*\)[^()]*)*\)\s*,\s*\(/i;

/** Statements that already batch (`IN (…)` with several values, multi-row `INSERT`): never counted. */
export function isBatchedStatement(sql: string): boolean {
  return IN_LIST.test(sql) || MULTI_ROW_VALUES.test(sql);
}

function isSql(db: DbSpanInfo | undefined): db is DbSpanInfo & { statement: string } {
  return db !== undefined && db.system !== 'redis' && typeof db.statement === 'string';
}

/** A statement group under one parent, counted by normalized text. */
interface Group {
  count: number;
  /** The first span of the group: its `DbSpanInfo` names the statement in the finding. */
  first: number;
}

/**
 * N+1 findings of a finished trace: `threshold` or more SQL statements with the same normalized text under one
 * parent span, whether they ran one after another or concurrently (`Promise.all`). Batched statements are left out.
 *
 * Run when a trace finishes, from what it recorded: the common case (fewer SQL spans than `threshold` in the whole
 * trace, or no parent with that many) costs one pass over the trace's `extras` with number keys and no string work.
 * Only under a parent with `threshold` or more statements are the statements grouped, first by their raw text (the
 * same string for every call of one TypeORM query), then by normalized text (so that statements inlining different
 * literals group together): a normalization per distinct statement text under that parent.
 *
 * @returns the findings in order of their first statement, or `undefined` when there are none.
 */
export function findRepeatedStatements(
  context: ActiveTrace,
  options: ResolvedTraceOptions,
): TraceFinding[] | undefined {
  const threshold = options.nPlusOneThreshold;
  const extras = context.extras;
  if (threshold <= 0 || extras === undefined || extras.size < threshold) return undefined;
  let perParent: Map<number, number> | undefined;
  let crowded: number[] | undefined;
  for (const [span, extra] of extras) {
    if (!isSql(extra.db)) continue;
    const parent = context.spanParent(span);
    const count = ((perParent ??= new Map<number, number>()).get(parent) ?? 0) + 1;
    perParent.set(parent, count);
    if (count === threshold) (crowded ??= []).push(parent);
  }
  if (crowded === undefined) return undefined;
  const findings: Array<TraceFinding & { first: number }> = [];
  for (const parent of crowded) findings.push(...findingsUnder(context, parent, threshold, options));
  if (findings.length === 0) return undefined;
  findings.sort((a, b) => a.first - b.first);
  return findings.map(({ kind, parent, statement, count }) => ({ kind, parent, statement, count }));
}

function findingsUnder(
  context: ActiveTrace,
  parent: number,
  threshold: number,
  options: ResolvedTraceOptions,
): Array<TraceFinding & { first: number }> {
  const extras = context.extras;
  if (extras === undefined) return [];
  // Raw text first: the statements of one TypeORM call in a loop are equal strings.
  const byRaw = new Map<string, Group>();
  for (const [span, extra] of extras) {
    const db = extra.db;
    if (!isSql(db) || context.spanParent(span) !== parent) continue;
    const group = byRaw.get(db.statement);
    if (group) group.count++;
    else byRaw.set(db.statement, { count: 1, first: span });
  }
  const byNormalized = new Map<string, Group>();
  for (const [raw, group] of byRaw) {
    if (isBatchedStatement(raw)) continue;
    const system = (extras.get(group.first)?.db as DbSpanInfo).system;
    const normalize = system === 'postgresql' ? normalizePostgresSql : normalizeSql;
    const key = `${system} ${normalize(raw, Number.MAX_SAFE_INTEGER)}`;
    const merged = byNormalized.get(key);
    if (merged) {
      merged.count += group.count;
      merged.first = Math.min(merged.first, group.first);
    } else byNormalized.set(key, { ...group });
  }
  const parentName = context.names[parent] ?? '';
  const findings: Array<TraceFinding & { first: number }> = [];
  for (const group of byNormalized.values()) {
    if (group.count < threshold) continue;
    const db = extras.get(group.first)?.db as DbSpanInfo & { statement: string };
    const normalize = db.system === 'postgresql' ? normalizePostgresSql : normalizeSql;
    // As the statement's span shows it (`instrument.statement`).
    const statement =
      options.instrument.statement === 'none'
        ? sqlOperation(db.statement)
        : normalize(db.statement, options.instrument.maxStatementLength);
    findings.push({ kind: 'n+1', parent: parentName, statement, count: group.count, first: group.first });
  }
  return findings;
}

/** How often a fast trace is reported for its findings: once per handler per this period. */
export const FINDING_REPORT_PERIOD_MS = 60_000;

/**
 * Decides whether a fast (`ok`) trace with findings is reported: at most once per handler per minute, so an N+1 on
 * a hot endpoint shows up without flooding the log.
 */
export class FindingReports {
  private readonly lastReported = new Map<string, number>();

  constructor(private readonly options: ResolvedTraceOptions) {}

  /** `true` when the trace has findings and its handler's last such report is a minute old (or there is none). */
  shouldReport(context: ActiveTrace, now = Date.now()): boolean {
    if (findRepeatedStatements(context, this.options) === undefined) return false;
    const origin = context.origin;
    const key = `${origin.transport} ${origin.handlerClass?.name ?? ''}.${origin.handlerName}`;
    const last = this.lastReported.get(key);
    if (last !== undefined && now - last < FINDING_REPORT_PERIOD_MS) return false;
    // Handlers are finitely many (the app's code), so the map stays small.
    this.lastReported.set(key, now);
    return true;
  }
}
