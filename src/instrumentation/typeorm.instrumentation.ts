import type { DbSpanInfo } from '../context/span-extra.js';
import type { TraceContext } from '../context/trace-context.js';
import { callInSpan } from '../context/span-call.js';
import type { TraceFrame } from '../context/trace-storage.js';
import { traceStorage } from '../context/trace-storage.js';
import { installOnce, NOTHING_TO_UNDO } from './install-once.util.js';
import type { Uninstall } from './install-once.util.js';
import { hasMethod, wrapMethod } from './wrap-method.util.js';

/** Span name of a SQL statement; the report names it from its `DbSpanInfo` (`mysql SELECT`). */
const STATEMENT_SPAN = 'mysql';
/** Span name of a transaction: the statements it runs (`START TRANSACTION` … `COMMIT`) are its children. */
export const TRANSACTION_SPAN = 'transaction';
/** TypeORM drivers whose query runners speak mysql2 and return its result shapes. */
const MYSQL_TYPES: readonly string[] = ['mysql', 'mariadb'];
/** Marks a rollback on a transaction span opened by `queryRunner.startTransaction()` (no error object exists). */
const ROLLED_BACK = { name: 'Rollback', message: 'rolled back' } as const;

/** A transaction opened with `queryRunner.startTransaction()` directly (not through `manager.transaction`). */
interface RunnerTransaction {
  readonly context: TraceContext;
  readonly span: number;
  /** The span that opened it: statements issued from that span go under the transaction. */
  readonly parent: number;
}

const RUNNER_TRANSACTION = Symbol('nestjs-trace.runnerTransaction');

/** The parts of TypeORM's `MysqlQueryRunner` (0.3 and 1.x) read here. */
interface QueryRunnerLike {
  readonly isTransactionActive?: boolean;
  [RUNNER_TRANSACTION]?: RunnerTransaction | undefined;
}

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;
type RunnerMethod = 'query' | 'stream' | 'startTransaction' | 'commitTransaction' | 'rollbackTransaction';

const installations = new WeakMap<object, unknown>();

/**
 * Records every SQL statement a TypeORM DataSource on mysql2 (`type: 'mysql' | 'mariadb'`) runs inside a trace as a
 * child span of the traced call that issued it; other drivers are left alone (returns a no-op).
 *
 * Hooks this one instance only: its driver's `createQueryRunner` (every repository call, query builder, raw
 * `query()`, entity manager and transaction goes through a query runner it creates), each runner's `query` /
 * `stream` / `startTransaction` / `commitTransaction` / `rollbackTransaction`, and `dataSource.manager.transaction`
 * so that code run inside a transaction callback nests under its `transaction` span. Query runners created before
 * this call are not recorded. Installing twice on one DataSource is counted, not doubled.
 *
 * @returns a function that removes the instrumentation again (idempotent).
 */
export function instrumentDataSource(dataSource: object): () => void {
  const { driver, manager, options } = dataSource as { driver?: unknown; manager?: unknown; options?: { type?: unknown } };
  if (typeof options?.type !== 'string' || !MYSQL_TYPES.includes(options.type) || !hasMethod(driver, 'createQueryRunner')) {
    return NOTHING_TO_UNDO;
  }
  return installOnce(installations, dataSource, () => install(driver, manager));
}

function install(driver: object, manager: unknown): Uninstall {
  const state = { active: true };
  const runnerWrappers = createRunnerWrappers(state);
  const restores = [
    wrapMethod<AnyMethod>(driver, 'createQueryRunner', (original) =>
      function createQueryRunner(this: unknown, ...args: unknown[]): unknown {
        const runner = original.apply(this, args);
        if (state.active) instrumentRunner(runner, runnerWrappers);
        return runner;
      },
    ),
  ];
  // `dataSource.transaction()`, repositories and `@InjectEntityManager()` all use this one manager.
  if (hasMethod(manager, 'transaction')) {
    restores.push(wrapMethod<AnyMethod>(manager, 'transaction', (original) => transactionWrapper(original, state)));
  }
  return () => {
    // Runners created meanwhile keep their wrappers, which now pass straight through.
    state.active = false;
    for (const restore of restores) restore();
  };
}

/** Opens the span of one statement sent by `runner` inside a trace; `undefined` outside a trace or past maxSpans. */
function openStatement(runner: unknown, sql: unknown): { context: TraceContext; span: number; info: DbSpanInfo } | undefined {
  const frame = traceStorage.getStore();
  if (frame === undefined) return undefined;
  const context = frame.context;
  const span = context.openSpan(STATEMENT_SPAN, statementParent(runner as QueryRunnerLike, frame));
  if (span < 0) return undefined;
  const info: DbSpanInfo = { system: 'mysql', statement: typeof sql === 'string' ? sql : undefined };
  context.setDb(span, info);
  return { context, span, info };
}

/**
 * Query runners are created per operation, so their wrappers are made once per installation and shared: each calls
 * the method of the runner's prototype (where TypeORM defines it) with the runner as `this`.
 */
function createRunnerWrappers(state: { active: boolean }): Record<RunnerMethod, AnyMethod> {
  return {
    query: function query(this: unknown, ...args: unknown[]): unknown {
      const original = prototypeMethod(this, 'query');
      const statement = state.active ? openStatement(this, args[0]) : undefined;
      if (statement === undefined) return original.apply(this, args);
      const { context, span, info } = statement;
      let result: unknown;
      try {
        result = original.apply(this, args);
      } catch (error) {
        failStatement(context, span, info, error);
        throw error;
      }
      return Promise.resolve(result).then(
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
    },

    // `stream(sql, parameters, onEnd, onError)`: the span lasts until mysql2 ends or fails the query.
    stream: function stream(this: unknown, ...args: unknown[]): unknown {
      const original = prototypeMethod(this, 'stream');
      const statement = state.active ? openStatement(this, args[0]) : undefined;
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
      let result: unknown;
      try {
        result = original.apply(this, args);
      } catch (error) {
        failStatement(context, span, info, error);
        throw error;
      }
      return Promise.resolve(result).then(undefined, (error: unknown) => {
        failStatement(context, span, info, error);
        throw error;
      });
    },

    startTransaction: async function startTransaction(this: unknown, ...args: unknown[]): Promise<unknown> {
      const runner = this as QueryRunnerLike;
      const original = prototypeMethod(this, 'startTransaction');
      const frame = traceStorage.getStore();
      // Inside `manager.transaction` the span exists already (the current frame); nested calls are savepoints.
      if (frame === undefined || !state.active || runner[RUNNER_TRANSACTION] !== undefined || isTransactionFrame(frame)) {
        return original.apply(this, args);
      }
      const context = frame.context;
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
    },

    commitTransaction: function commitTransaction(this: unknown, ...args: unknown[]): unknown {
      return endRunnerTransaction(this as QueryRunnerLike, prototypeMethod(this, 'commitTransaction'), args, false);
    },

    rollbackTransaction: function rollbackTransaction(this: unknown, ...args: unknown[]): unknown {
      return endRunnerTransaction(this as QueryRunnerLike, prototypeMethod(this, 'rollbackTransaction'), args, true);
    },
  };
}

function instrumentRunner(runner: unknown, wrappers: Record<RunnerMethod, AnyMethod>): void {
  if (runner === null || typeof runner !== 'object') return;
  const target = runner as Record<string, unknown>;
  for (const key of Object.keys(wrappers) as RunnerMethod[]) {
    // An own property means someone replaced the method on this runner: we cannot chain to it safely.
    if (typeof target[key] === 'function' && !Object.prototype.hasOwnProperty.call(target, key)) target[key] = wrappers[key];
  }
}

/** The method as the runner's class defines it (the runners carry our wrapper as an own property). */
function prototypeMethod(runner: unknown, key: RunnerMethod): AnyMethod {
  return (Object.getPrototypeOf(runner) as Record<RunnerMethod, AnyMethod>)[key];
}

async function endRunnerTransaction(runner: QueryRunnerLike, original: AnyMethod, args: unknown[], rollback: boolean): Promise<unknown> {
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
    const context = frame.context;
    const span = context.openSpan(TRANSACTION_SPAN, frame.span);
    return span < 0 ? original.apply(this, args) : callInSpan(context, span, original, this, args);
  };
}

function isTransactionFrame(frame: TraceFrame): boolean {
  return frame.context.names[frame.span] === TRANSACTION_SPAN;
}

function statementParent(runner: QueryRunnerLike, frame: TraceFrame): number {
  const open = runner[RUNNER_TRANSACTION];
  return open !== undefined && open.context === frame.context && open.parent === frame.span ? open.span : frame.span;
}

/**
 * Ends a failed statement's span with the error itself (the report masks the values a SQL error message quotes) and
 * its driver code (`ER_DUP_ENTRY`). TypeORM wraps mysql2's error in a `QueryFailedError` that copies `code`.
 */
function failStatement(context: TraceContext, span: number, info: DbSpanInfo, error: unknown): void {
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
 * `ResultSetHeader`), or either inside TypeORM's structured `QueryResult` (`query(sql, params, true)`).
 */
function rowsOf(result: unknown): number | undefined {
  if (Array.isArray(result)) return result.length;
  if (result === null || typeof result !== 'object') return undefined;
  const { affectedRows, affected, raw } = result as { affectedRows?: unknown; affected?: unknown; raw?: unknown };
  if (typeof affectedRows === 'number') return affectedRows;
  if (typeof affected === 'number') return affected;
  return Array.isArray(raw) ? raw.length : undefined;
}
