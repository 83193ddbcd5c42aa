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

/** Transaction control (`START TRANSACTION`, `COMMIT`, `SAVEPOINT` …): repeated by every transaction, not a query. */
const TRANSACTION_CONTROL = /^\s*(?:START|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET)\b/i;

/** A statement group under one parent, counted by normalized text. */
interface Group {
  count: number;
  /** The first span of the group: its `DbSpanInfo` names the statement in the finding. */
  first: number;
  /** Level 2: the method spans the statements ran in (a loop of calls has several). */
  via?: Set<number>;
}

type Found = TraceFinding & { first: number };

/**
 * N+1 findings of a finished trace: `threshold` or more SQL statements with the same normalized text under one
 * parent span, whether they ran one after another or concurrently (`Promise.all`). Also the common layered form: a
 * loop of calls to a traced method (a `@Trace()` repository's `findById`) that each run the statement, found as
 * `threshold` or more such statements one level further down, under the span that made the calls (`via` names the
 * method). Batched statements and transaction control are left out.
 *
 * Run when a trace finishes, from what it recorded: the common case (fewer SQL spans than `threshold` in the whole
 * trace, or no span with that many statements below it) costs one pass over the trace's `extras` with number keys and
 * no string work. Only under a span with `threshold` or more statements are they grouped, first by their raw text (the
 * same string for every call of one TypeORM query), then by normalized text (so that statements inlining different
 * literals group together): a normalization per distinct statement text there.
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
  let perGrandparent: Map<number, number> | undefined;
  let crowded: number[] | undefined;
  let crowdedGrandparents: number[] | undefined;
  for (const [span, extra] of extras) {
    if (!isSql(extra.db)) continue;
    const parent = context.spanParent(span);
    const count = ((perParent ??= new Map<number, number>()).get(parent) ?? 0) + 1;
    perParent.set(parent, count);
    if (count === threshold) (crowded ??= []).push(parent);
    if (parent <= 0) continue;
    const grandparent = context.spanParent(parent);
    const below = ((perGrandparent ??= new Map<number, number>()).get(grandparent) ?? 0) + 1;
    perGrandparent.set(grandparent, below);
    if (below === threshold) (crowdedGrandparents ??= []).push(grandparent);
  }
  if (crowded === undefined && crowdedGrandparents === undefined) return undefined;
  const findings: Found[] = [];
  for (const parent of crowded ?? []) findings.push(...findingsUnder(context, parent, 1, threshold, options));
  for (const owner of crowdedGrandparents ?? []) findings.push(...findingsUnder(context, owner, 2, threshold, options));
  if (findings.length === 0) return undefined;
  findings.sort((a, b) => a.first - b.first);
  return findings.map(({ first: _first, ...finding }) => finding);
}

/**
 * The findings among the statements `level` spans below `owner`: its children (1), or its children's children (2,
 * grouped by the name of the method they ran in, and only when that method was called more than once).
 */
function findingsUnder(
  context: ActiveTrace,
  owner: number,
  level: 1 | 2,
  threshold: number,
  options: ResolvedTraceOptions,
): Found[] {
  const extras = context.extras;
  if (extras === undefined) return [];
  const below = (span: number): number => {
    const parent = context.spanParent(span);
    if (level === 1) return parent === owner ? parent : -1;
    return parent > 0 && context.spanParent(parent) === owner ? parent : -1;
  };
  // Statements with the same normalized text have the same text before their first literal or placeholder: a number
  // (a hash of that prefix) buckets them without allocating; only buckets of `threshold` statements are grouped by
  // text below (a collision only costs that grouping, which is exact).
  const counts = new Map<number, number>();
  let crowded = false;
  for (const [span, extra] of extras) {
    const db = extra.db;
    if (!isSql(db) || below(span) < 0) continue;
    const hash = prefixHash(db.statement, db.system);
    const count = (counts.get(hash) ?? 0) + 1;
    counts.set(hash, count);
    if (count >= threshold) crowded = true;
  }
  if (!crowded) return [];
  // Raw text next: the statements of one TypeORM call in a loop are equal strings.
  const byRaw = new Map<string, Group>();
  for (const [span, extra] of extras) {
    const db = extra.db;
    if (!isSql(db)) continue;
    const parent = below(span);
    if (parent < 0 || (counts.get(prefixHash(db.statement, db.system)) ?? 0) < threshold) continue;
    const key = level === 1 ? db.statement : `${context.names[parent] ?? ''}\u0000${db.statement}`;
    const group = byRaw.get(key);
    if (group) {
      group.count++;
      group.via?.add(parent);
    } else byRaw.set(key, { count: 1, first: span, via: level === 2 ? new Set([parent]) : undefined });
  }
  const byNormalized = new Map<string, Group>();
  for (const [key, group] of byRaw) {
    const raw = rawOf(extras, group);
    if (isBatchedStatement(raw) || TRANSACTION_CONTROL.test(raw)) continue;
    const system = (extras.get(group.first)?.db as DbSpanInfo).system;
    const normalize = system === 'postgresql' ? normalizePostgresSql : normalizeSql;
    const method = level === 1 ? '' : key.slice(0, key.indexOf('\u0000'));
    const normalizedKey = `${method}\u0000${system} ${normalize(raw, Number.MAX_SAFE_INTEGER)}`;
    const merged = byNormalized.get(normalizedKey);
    if (merged) {
      merged.count += group.count;
      merged.first = Math.min(merged.first, group.first);
      for (const parent of group.via ?? []) merged.via?.add(parent);
    } else byNormalized.set(normalizedKey, { ...group, via: group.via && new Set(group.via) });
  }
  const ownerName = context.names[owner] ?? '';
  const findings: Found[] = [];
  for (const group of byNormalized.values()) {
    if (group.count < threshold) continue;
    // One call that runs the statement many times is its own (level 1) finding.
    if (level === 2 && (group.via?.size ?? 0) < 2) continue;
    const db = extras.get(group.first)?.db as DbSpanInfo & { statement: string };
    const normalize = db.system === 'postgresql' ? normalizePostgresSql : normalizeSql;
    // As the statement's span shows it (`instrument.statement`).
    const statement =
      options.instrument.statement === 'none'
        ? sqlOperation(db.statement)
        : normalize(db.statement, options.instrument.maxStatementLength);
    const finding: Found = { kind: 'n+1', parent: ownerName, statement, count: group.count, first: group.first };
    if (level === 2) finding.via = context.names[context.spanParent(group.first)] ?? '';
    findings.push(finding);
  }
  return findings;
}

function rawOf(extras: ReadonlyMap<number, { db?: DbSpanInfo }>, group: Group): string {
  return (extras.get(group.first)?.db as DbSpanInfo & { statement: string }).statement;
}

/**
 * A hash (FNV-1a) of the statement's text up to its first digit, string quote or placeholder: what normalization
 * leaves as it is (but for whitespace), and the same for a statement inlining a literal and one binding it. Double
 * quotes are strings in MySQL and identifiers (kept) in PostgreSQL. Numbers only: nothing is allocated.
 */
function prefixHash(sql: string, system: DbSpanInfo['system']): number {
  const doubleQuoteIsLiteral = system !== 'postgresql';
  let hash = doubleQuoteIsLiteral ? 0x811c9dc5 : 0x050c5d1f;
  for (let index = 0; index < sql.length; index++) {
    const code = sql.charCodeAt(index);
    // 0-9, ', ?, $ and (MySQL) "
    if (
      (code >= 48 && code <= 57) ||
      code === 39 ||
      code === 63 ||
      code === 36 ||
      (code === 34 && doubleQuoteIsLiteral)
    ) {
      break;
    }
    hash = Math.imul(hash ^ code, 0x01000193);
  }
  return hash & 0x3fffffff; // a small integer: Map keys that need no heap number
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
  shouldReport(context: ActiveTrace, now?: number): boolean {
    if (findRepeatedStatements(context, this.options) === undefined) return false;
    // The clock is read only for a trace with findings (a default parameter would read it for every trace).
    now ??= Date.now();
    const origin = context.origin;
    const key = `${origin.transport} ${origin.handlerClass?.name ?? ''}.${origin.handlerName}`;
    const last = this.lastReported.get(key);
    if (last !== undefined && now - last < FINDING_REPORT_PERIOD_MS) return false;
    // Handlers are finitely many (the app's code), so the map stays small.
    this.lastReported.set(key, now);
    return true;
  }
}
