import type { DbSpanInfo } from '../context/span-extra.js';
import type { ActiveTrace } from '../context/active-trace.js';
import { callInSpan } from '../context/span-call.js';
import type { TraceFrame } from '../context/trace-storage.js';
import { traceStorage } from '../context/trace-storage.js';
import { installOnce, NOTHING_TO_UNDO } from './install-once.util.js';
import type { Uninstall } from './install-once.util.js';
import { hasMethod, wrapMethod } from './wrap-method.util.js';
import { instrumentPoolWait, takePoolWaitSlot, releasePoolWaitSlot } from './pool-wait.js';

type SqlSystem = Extract<DbSpanInfo['system'], 'mysql' | 'postgresql'>;
/** Span name of a transaction: the statements it runs (`START TRANSACTION` … `COMMIT`) are its children. */
export const TRANSACTION_SPAN = 'transaction';
/**
 * TypeORM DataSource types recorded, and the system their spans name: `MysqlQueryRunner` (mysql2) and
 * `PostgresQueryRunner` (pg). Both send every statement through `query` / `stream`, including their transactions'
 * `START TRANSACTION` / `COMMIT`, and both obtain their connection from the driver (`obtainMasterConnection`).
 */
const SQL_SYSTEMS: ReadonlyMap<string, SqlSystem> = new Map<string, SqlSystem>([
  ['mysql', 'mysql'],
  ['mariadb', 'mysql'],
  ['postgres', 'postgresql'],
]);
/** Marks a rollback on a transaction span opened by `queryRunner.startTransaction()` (no error object exists). */
const ROLLED_BACK = { name: 'Rollback', message: 'rolled back' } as const;

/** A transaction opened with `queryRunner.startTransaction()` directly (not through `manager.transaction`). */
interface RunnerTransaction {
  readonly context: ActiveTrace;
  readonly span: number;
  /** The span that opened it: statements issued from that span go under the transaction. */
  readonly parent: number;
}

const RUNNER_TRANSACTION = Symbol('nestjs-trace.runnerTransaction');

/** The parts of TypeORM's `MysqlQueryRunner` / `PostgresQueryRunner` (0.3 and 1.x) read here. */
interface QueryRunnerLike {
  readonly isTransactionActive?: boolean;
  [RUNNER_TRANSACTION]?: RunnerTransaction | undefined;
}

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;
type RunnerMethod = 'query' | 'stream' | 'startTransaction' | 'commitTransaction' | 'rollbackTransaction';
const RUNNER_METHODS: readonly RunnerMethod[] = [
  'query',
  'stream',
  'startTransaction',
  'commitTransaction',
  'rollbackTransaction',
];

const installations = new WeakMap<object, unknown>();

/**
 * Records every SQL statement a TypeORM DataSource on mysql2 (`type: 'mysql' | 'mariadb'`) or pg (`type: 'postgres'`)
 * runs inside a trace as a child span of the traced call that issued it; other drivers are left alone (returns a
 * no-op). A statement that had to queue for a connection in the app's pool gets `poolWaitMs` (see `pool-wait.ts`).
 *
 * Records this one instance only: its driver's `createQueryRunner` is wrapped (every repository call, query builder,
 * raw `query()`, entity manager and transaction goes through a query runner it creates), and so is
 * `dataSource.manager.transaction`, so that code run inside a transaction callback nests under its `transaction`
 * span. The runners' `query` / `stream` / `startTransaction` / `commitTransaction` / `rollbackTransaction` are wrapped
 * once on their class's prototype, shared by every DataSource of that class; each call looks up whether its runner's
 * driver is instrumented. The prototype gets them when the first runner is made after this call; from then on, runners
 * made before it are recorded too. (TypeORM makes a runner per `query()`: putting five methods on each new runner cost
 * ~1 % of a local `SELECT 1`.) A runner whose own property replaced one of those methods is not recorded by that
 * method.
 * Installing twice on one DataSource is counted, not doubled.
 *
 * @returns a function that removes the instrumentation again (idempotent).
 */
export function instrumentDataSource(dataSource: object): () => void {
  const { driver, manager, options } = dataSource as {
    driver?: unknown;
    manager?: unknown;
    options?: { type?: unknown };
  };
  const system = typeof options?.type === 'string' ? SQL_SYSTEMS.get(options.type) : undefined;
  if (system === undefined || !hasMethod(driver, 'createQueryRunner')) return NOTHING_TO_UNDO;
  return installOnce(installations, dataSource, () => install(driver, manager, system));
}

/** Drivers whose runners are recorded, and their system: listed while `instrumentDataSource` is installed. */
const recordedDrivers = new WeakMap<object, SqlSystem>();

/** A runner prototype with our wrappers on it, and how many installations use it. */
interface PrototypePatch {
  users: number;
  restore: Uninstall;
}
const patches = new WeakMap<object, PrototypePatch>();
/** Every wrapper put on a runner prototype. */
const runnerWrappers = new WeakSet<object>();

function install(driver: object, manager: unknown, system: SqlSystem): Uninstall {
  const state = { active: true };
  recordedDrivers.set(driver, system);
  const prototypes = new Set<object>();
  const restores = [
    wrapMethod<AnyMethod>(
      driver,
      'createQueryRunner',
      (original) =>
        function createQueryRunner(this: unknown, ...args: unknown[]): unknown {
          const runner = original.apply(this, args);
          if (state.active) usePrototypeOf(runner, prototypes);
          return runner;
        },
    ),
    instrumentPoolWait(driver),
  ];
  // `dataSource.transaction()`, repositories and `@InjectEntityManager()` all use this one manager.
  if (hasMethod(manager, 'transaction')) {
    restores.push(wrapMethod<AnyMethod>(manager, 'transaction', (original) => transactionWrapper(original, state)));
  }
  return () => {
    // Runners created meanwhile pass straight through from now on (their driver is no longer listed).
    state.active = false;
    recordedDrivers.delete(driver);
    for (const restore of restores) restore();
    for (const prototype of prototypes) {
      const patch = patches.get(prototype);
      if (patch !== undefined && --patch.users === 0) {
        patches.delete(prototype);
        patch.restore();
      }
    }
  };
}

/** Puts the wrappers on the runner's prototype, once per prototype (counted per installation that uses it). */
function usePrototypeOf(runner: unknown, prototypes: Set<object>): void {
  if (runner === null || typeof runner !== 'object') return;
  const prototype = Object.getPrototypeOf(runner) as object | null;
  if (prototype === null || prototype === Object.prototype || prototypes.has(prototype)) return;
  prototypes.add(prototype);
  const patch = patches.get(prototype);
  if (patch !== undefined) {
    patch.users++;
    return;
  }
  const restores: Uninstall[] = [];
  for (const key of RUNNER_METHODS) {
    const method = (prototype as Record<string, unknown>)[key];
    // A subclass's prototype inherits the wrappers of its patched parent: wrapping them again would double the spans.
    if (typeof method !== 'function' || runnerWrappers.has(method)) continue;
    restores.push(
      wrapMethod<AnyMethod>(prototype, key, (original) => {
        const wrapper = runnerWrapper(key, original);
        runnerWrappers.add(wrapper);
        return wrapper;
      }),
    );
  }
  patches.set(prototype, { users: 1, restore: () => restores.forEach((restore) => restore()) });
}

/** The system of the runner's driver, or `undefined` when it is not instrumented. */
function systemOf(runner: unknown): SqlSystem | undefined {
  const driver = (runner as { driver?: unknown } | null | undefined)?.driver;
  return typeof driver === 'object' && driver !== null ? recordedDrivers.get(driver) : undefined;
}

/** Whether the runner's driver is instrumented. */
function isRecorded(runner: unknown): boolean {
  return systemOf(runner) !== undefined;
}

interface OpenStatement {
  context: ActiveTrace;
  span: number;
  info: DbSpanInfo;
}

/**
 * Opens the span of one statement sent by `runner` inside a trace; `undefined` when its driver is not instrumented,
 * outside a trace or past maxSpans.
 */
function openStatement(runner: unknown, sql: unknown): OpenStatement | undefined {
  const system = systemOf(runner);
  if (system === undefined) return undefined;
  const frame = traceStorage.getStore();
  if (frame === undefined) return undefined;
  const context = frame.trace;
  // The span's name is the system (the report names it from its `DbSpanInfo`: `postgresql SELECT`).
  const span = context.openSpan(system, statementParent(runner as QueryRunnerLike, frame));
  if (span < 0) return undefined;
  const info: DbSpanInfo = { system, statement: typeof sql === 'string' ? sql : undefined };
  context.setDb(span, info);
  return { context, span, info };
}

/**
 * Calls the runner's own method; a synchronous throw fails the statement's span and is rethrown as it is. The
 * runner asks its driver for a connection synchronously inside this call (when it has none yet): the pool-wait slot
 * tells that request which statement it is for.
 */
function sendStatement(original: AnyMethod, runner: unknown, args: unknown[], statement: OpenStatement): unknown {
  const slot = takePoolWaitSlot(statement.info);
  try {
    return original.apply(runner, args);
  } catch (error) {
    failStatement(statement.context, statement.span, statement.info, error);
    throw error;
  } finally {
    releasePoolWaitSlot(slot);
  }
}

/** The wrapper put on a runner prototype in place of `original`; runners of drivers not instrumented pass through. */
function runnerWrapper(key: RunnerMethod, original: AnyMethod): AnyMethod {
  switch (key) {
    case 'query':
      return function query(this: unknown, ...args: unknown[]): unknown {
        const statement = openStatement(this, args[0]);
        if (statement === undefined) return original.apply(this, args);
        const { context, span, info } = statement;
        return Promise.resolve(sendStatement(original, this, args, statement)).then(
          (value: unknown) => {
            const rows = rowsOf(value);
            if (rows !== undefined) info.rows = rows;
            context.endSpan(span, false);
            return value;
          },
          (error: unknown) => {
            failStatement(context, span, info, error);
            throw error;
          },
        );
      };

    // `stream(sql, parameters, onEnd, onError)`: the span lasts until mysql2 ends or fails the query.
    case 'stream':
      return function stream(this: unknown, ...args: unknown[]): unknown {
        const statement = openStatement(this, args[0]);
        if (statement === undefined) return original.apply(this, args);
        const { context, span, info } = statement;
        const onEnd = args[2];
        const onError = args[3];
        // TypeORM attaches these to the mysql2 Query (an emitter that already has an `error` listener forwarding to the
        // stream), so adding ours changes nothing for the caller. `end` follows `error`; the first end wins.
        args[2] = function (this: unknown, ...endArgs: unknown[]): unknown {
          context.endSpan(span, false);
          return typeof onEnd === 'function' ? (onEnd as AnyMethod).apply(this, endArgs) : undefined;
        };
        args[3] = function (this: unknown, ...errorArgs: unknown[]): unknown {
          failStatement(context, span, info, errorArgs[0]);
          return typeof onError === 'function' ? (onError as AnyMethod).apply(this, errorArgs) : undefined;
        };
        return Promise.resolve(sendStatement(original, this, args, statement)).then(undefined, (error: unknown) => {
          failStatement(context, span, info, error);
          throw error;
        });
      };

    case 'startTransaction':
      return async function startTransaction(this: unknown, ...args: unknown[]): Promise<unknown> {
        const runner = this as QueryRunnerLike;
        const frame = traceStorage.getStore();
        // Inside `manager.transaction` the span exists already (the current frame); nested calls are savepoints.
        if (
          frame === undefined ||
          !isRecorded(this) ||
          runner[RUNNER_TRANSACTION] !== undefined ||
          isTransactionFrame(frame)
        ) {
          return original.apply(this, args);
        }
        const context = frame.trace;
        const span = context.openSpan(TRANSACTION_SPAN, frame.span);
        if (span < 0) return original.apply(this, args);
        runner[RUNNER_TRANSACTION] = { context, span, parent: frame.span };
        try {
          return await original.apply(this, args);
        } catch (error) {
          runner[RUNNER_TRANSACTION] = undefined;
          context.endSpan(span, true, error);
          throw error;
        }
      };

    case 'commitTransaction':
      return function commitTransaction(this: unknown, ...args: unknown[]): unknown {
        return endRunnerTransaction(this as QueryRunnerLike, original, args, false);
      };

    case 'rollbackTransaction':
      return function rollbackTransaction(this: unknown, ...args: unknown[]): unknown {
        return endRunnerTransaction(this as QueryRunnerLike, original, args, true);
      };
  }
}

async function endRunnerTransaction(
  runner: QueryRunnerLike,
  original: AnyMethod,
  args: unknown[],
  rollback: boolean,
): Promise<unknown> {
  const open = runner[RUNNER_TRANSACTION];
  if (open === undefined) return original.apply(runner, args);
  try {
    const result = await original.apply(runner, args);
    // A savepoint release / rollback keeps the transaction open.
    if (runner.isTransactionActive !== true) {
      runner[RUNNER_TRANSACTION] = undefined;
      open.context.endSpan(open.span, rollback, rollback ? ROLLED_BACK : undefined);
    }
    return result;
  } catch (error) {
    runner[RUNNER_TRANSACTION] = undefined;
    open.context.endSpan(open.span, true, error);
    throw error;
  }
}

/** Runs `manager.transaction(...)` inside a `transaction` span, so everything its callback does nests under it. */
function transactionWrapper(original: AnyMethod, state: { active: boolean }): AnyMethod {
  return function transaction(this: unknown, ...args: unknown[]): unknown {
    const frame = traceStorage.getStore();
    if (frame === undefined || !state.active) return original.apply(this, args);
    const context = frame.trace;
    const span = context.openSpan(TRANSACTION_SPAN, frame.span);
    return span < 0 ? original.apply(this, args) : callInSpan(context, span, original, this, args);
  };
}

function isTransactionFrame(frame: TraceFrame): boolean {
  return frame.trace.names[frame.span] === TRANSACTION_SPAN;
}

function statementParent(runner: QueryRunnerLike, frame: TraceFrame): number {
  const open = runner[RUNNER_TRANSACTION];
  return open !== undefined && open.context === frame.trace && open.parent === frame.span ? open.span : frame.span;
}

/**
 * Ends a failed statement's span with the error itself (the report masks the values a SQL error message quotes) and
 * its driver code (`ER_DUP_ENTRY`). TypeORM wraps mysql2's error in a `QueryFailedError` that copies `code`.
 */
function failStatement(context: ActiveTrace, span: number, info: DbSpanInfo, error: unknown): void {
  const code = sqlErrorCode(error);
  if (code !== undefined) info.errorCode = code;
  context.endSpan(span, true, error);
}

function sqlErrorCode(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  try {
    const { code, driverError } = error as { code?: unknown; driverError?: { code?: unknown } | null };
    if (typeof code === 'string') return code;
    const driverCode = driverError !== null && typeof driverError === 'object' ? driverError.code : undefined;
    return typeof driverCode === 'string' ? driverCode : undefined;
  } catch {
    // A hostile error object (throwing getter, revoked Proxy): the span is still marked as failed, just without a code.
    return undefined;
  }
}

/**
 * Rows the driver reports: the length of a SELECT's row array, `affectedRows` of a write (mysql2's
 * `ResultSetHeader`), the row count of `PostgresQueryRunner`'s `[rows, rowCount]` (UPDATE / DELETE), or either inside
 * TypeORM's structured `QueryResult` (`query(sql, params, true)`).
 */
function rowsOf(result: unknown): number | undefined {
  if (Array.isArray(result)) {
    const [rows, count] = result as unknown[];
    return result.length === 2 && Array.isArray(rows) && typeof count === 'number' ? count : result.length;
  }
  if (result === null || typeof result !== 'object') return undefined;
  const { affectedRows, affected, raw } = result as { affectedRows?: unknown; affected?: unknown; raw?: unknown };
  if (typeof affectedRows === 'number') return affectedRows;
  if (typeof affected === 'number') return affected;
  return Array.isArray(raw) ? raw.length : undefined;
}
