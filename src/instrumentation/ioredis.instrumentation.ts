import type { DbSpanInfo } from '../context/span-extra.js';
import type { ActiveTrace } from '../context/active-trace.js';
import { traceStorage } from '../context/trace-storage.js';
import { installOnce, NOTHING_TO_UNDO } from './install-once.util.js';
import type { Uninstall } from './install-once.util.js';
import { hasMethod, wrapMethod } from './wrap-method.util.js';

/** Span name of a Redis command; the report names it from its `DbSpanInfo` (`redis GET room:42`). */
const COMMAND_SPAN = 'redis';
const RECORDED = Symbol('nestjs-trace.recorded');

/** What `instrumentRedis` records. */
export interface RedisInstrumentOptions {
  /** Record the first key of each command (`redis GET room:42`); `false` records the command name only. */
  keys: boolean;
}

/** The parts of an ioredis `Command` (v4 – v6) read here; OpenTelemetry's and Datadog's ioredis plugins rely on the same. */
interface CommandLike {
  /** Lower-case command name as sent (`get`). */
  readonly name: string;
  /** Arguments as sent (keys already carry the client's `keyPrefix`). */
  readonly args?: readonly unknown[];
  /** Set by a `Pipeline` on the commands queued in it. */
  readonly pipelineIndex?: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  getKeys?(): unknown[];
  [RECORDED]?: true;
}

/** The parts of an ioredis `Pipeline` read here. */
interface PipelineLike {
  readonly isPipeline?: boolean;
  readonly length?: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

const installations = new WeakMap<object, unknown>();

/**
 * Records every command an ioredis client (`Redis` or `Cluster`, v5 / v6) sends inside a trace as a child span of the
 * traced call that issued it; a `pipeline()` or `multi()` is one span with its command count. Values are never
 * read; with `keys` the first key is kept (a reference to the string already in the command).
 *
 * Hooks this one instance only: its `sendCommand` (every command method ends there), and `pipeline` / `multi` to
 * time each batch's `exec`. A span ends when ioredis settles the command (`command.resolve` / `reject`), so a
 * blocking `BLPOP` shows its full wait and the caller's Promise is never replaced. Not recorded: commands sent
 * through `enableAutoPipelining` (they never reach the client's `sendCommand` with their caller's context), and
 * clients made later with `duplicate()`. Installing twice on one client is counted, not doubled.
 *
 * @returns a function that removes the instrumentation again (idempotent).
 */
export function instrumentRedis(client: object, options: RedisInstrumentOptions): () => void {
  if (!hasMethod(client, 'sendCommand')) return NOTHING_TO_UNDO;
  return installOnce(installations, client, () => install(client, options));
}

function install(client: object, options: RedisInstrumentOptions): Uninstall {
  const state = { active: true };
  const keys = options.keys;
  const restores = [
    wrapMethod<AnyMethod>(
      client,
      'sendCommand',
      (original) =>
        function sendCommand(this: unknown, ...args: unknown[]): unknown {
          const command = args[0];
          const frame = traceStorage.getStore();
          if (
            frame === undefined ||
            !state.active ||
            !isCommand(command) ||
            isBatched(command, args[1]) ||
            command[RECORDED] === true
          ) {
            return original.apply(this, args);
          }
          const context = frame.trace;
          const span = context.openSpan(COMMAND_SPAN, frame.span);
          if (span < 0) return original.apply(this, args);
          const info: DbSpanInfo = { system: 'redis', statement: command.name };
          if (keys) {
            const key = firstKey(command);
            if (key !== undefined) info.key = key;
          }
          context.setDb(span, info);
          // Re-sends (offline queue flush, reconnect) pass here again, possibly in another trace's context.
          command[RECORDED] = true;
          settleSpan(command, context, span, info, undefined);
          try {
            return original.apply(this, args);
          } catch (error) {
            failRedis(context, span, info, error);
            throw error;
          }
        },
    ),
  ];
  for (const method of ['pipeline', 'multi'] as const) {
    if (!hasMethod(client, method)) continue;
    restores.push(
      wrapMethod<AnyMethod>(
        client,
        method,
        (original) =>
          function batch(this: unknown, ...args: unknown[]): unknown {
            const pipeline = original.apply(this, args);
            // `multi({ pipeline: false })` returns the client: its commands are then recorded one by one.
            if (state.active && pipeline !== this && isPipeline(pipeline)) wrapExec(pipeline, method, state);
            return pipeline;
          },
      ),
    );
  }
  return () => {
    state.active = false;
    for (const restore of restores) restore();
  };
}

/**
 * One span per batch, from `exec()` until ioredis settles the whole batch. The commands are counted after `exec`
 * queued them; a `multi` queue also holds its own MULTI and EXEC, which are not counted.
 */
function wrapExec(
  pipeline: PipelineLike & Record<string, unknown>,
  kind: 'pipeline' | 'multi',
  state: { active: boolean },
): void {
  if (typeof pipeline.exec !== 'function') return;
  const original = pipeline.exec as AnyMethod;
  let executed = false;
  pipeline.exec = function exec(this: unknown, ...args: unknown[]): unknown {
    const frame = traceStorage.getStore();
    // Cluster retries call `exec` again: the first call's span covers them.
    if (frame === undefined || !state.active || executed) return original.apply(this, args);
    executed = true;
    const context = frame.trace;
    const span = context.openSpan(COMMAND_SPAN, frame.span);
    if (span < 0) return original.apply(this, args);
    const info: DbSpanInfo = { system: 'redis', statement: kind, commands: 0 };
    context.setDb(span, info);
    settleSpan(pipeline, context, span, info, kind);
    try {
      return original.apply(this, args);
    } catch (error) {
      failRedis(context, span, info, error);
      throw error;
    } finally {
      const queued = typeof pipeline.length === 'number' ? pipeline.length : 0;
      info.commands = kind === 'multi' ? Math.max(queued - 2, 0) : queued;
    }
  };
}

/**
 * Wraps the `resolve` / `reject` ioredis calls on a command or pipeline, so the span ends exactly when the reply is
 * in — without a `then` on its Promise, which would mark an ignored rejection as handled. For a batch, a failed
 * command inside it (or an aborted MULTI) marks the span as failed with that command's error code.
 */
function settleSpan(
  target: CommandLike | PipelineLike,
  context: ActiveTrace,
  span: number,
  info: DbSpanInfo,
  batch: 'pipeline' | 'multi' | undefined,
): void {
  const resolve = target.resolve;
  const reject = target.reject;
  target.resolve = function (this: unknown, ...args: unknown[]): void {
    const failure = batch === undefined ? undefined : batchFailure(args[0]);
    if (failure === undefined) context.endSpan(span, false);
    else failRedis(context, span, info, failure);
    resolve.apply(this, args as [unknown]);
  };
  target.reject = function (this: unknown, ...args: unknown[]): void {
    failRedis(context, span, info, args[0]);
    reject.apply(this, args as [unknown]);
  };
}

/** The first error in a batch's `[error, result][]` replies. */
function batchFailure(replies: unknown): unknown {
  if (!Array.isArray(replies)) return undefined;
  for (const reply of replies as unknown[]) {
    if (Array.isArray(reply) && reply[0] !== null && reply[0] !== undefined) return reply[0];
  }
  return undefined;
}

/**
 * Redis error texts can quote the command's arguments (`ERR unknown command 'x', with args beginning with: 'v'`), so
 * the span keeps only the error code — the reply's first word (`WRONGTYPE`, `NOSCRIPT`), or the error's `code` /
 * `name` for client-side failures. Built on the failure path only.
 */
function failRedis(context: ActiveTrace, span: number, info: DbSpanInfo, error: unknown): void {
  const code = redisErrorCode(error);
  info.errorCode = code;
  context.endSpan(span, true, { name: 'RedisError', message: code });
}

function redisErrorCode(error: unknown): string {
  if (error === null || typeof error !== 'object') return 'ERROR';
  try {
    const { message, code, name } = error as { message?: unknown; code?: unknown; name?: unknown };
    if (typeof code === 'string') return code;
    if (name === 'ReplyError' && typeof message === 'string') {
      const word = /^[A-Z][A-Z_-]*/.exec(message);
      if (word) return word[0];
    }
    return typeof name === 'string' ? name : 'ERROR';
  } catch {
    // A hostile error object: the span is still marked as failed.
    return 'ERROR';
  }
}

/**
 * Commands whose first key was their first argument when ioredis looked it up: for them the lookup (a walk of its
 * command table, ~2 µs) is skipped. Only commands with a fixed key position can answer so; those whose keys move
 * (EVAL, XREAD, MIGRATE…) start with a script, a keyword or a host, and keep asking ioredis every time.
 */
const KEY_IS_FIRST_ARGUMENT = new Map<string, boolean>();

function firstKey(command: CommandLike): string | undefined {
  const name = command.name;
  const args = command.args;
  if (KEY_IS_FIRST_ARGUMENT.get(name) === true && args !== undefined) {
    const first = args[0];
    return typeof first === 'string' ? first : undefined;
  }
  if (typeof command.getKeys !== 'function') return undefined;
  try {
    // ioredis computes the key positions from its command table: never an argument that is a value.
    const key = command.getKeys()[0];
    if (key !== undefined && args !== undefined && key === args[0] && KEY_IS_FIRST_ARGUMENT.size < 1000)
      KEY_IS_FIRST_ARGUMENT.set(name, true);
    return typeof key === 'string' ? key : undefined;
  } catch {
    // ioredis could not find the key positions (malformed arguments): the span just has no key.
    return undefined;
  }
}

function isCommand(value: unknown): value is CommandLike {
  return (
    hasMethod(value, 'resolve') &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { reject?: unknown }).reject === 'function'
  );
}

function isPipeline(value: unknown): value is PipelineLike & Record<string, unknown> {
  return (
    hasMethod(value, 'exec') &&
    (value as { isPipeline?: unknown }).isPipeline === true &&
    typeof (value as { resolve?: unknown }).resolve === 'function'
  );
}

/** A command a pipeline / multi sends at `exec`: counted in the batch's span, not recorded on its own. */
function isBatched(command: CommandLike, stream: unknown): boolean {
  return (
    typeof command.pipelineIndex === 'number' ||
    (stream !== null && typeof stream === 'object' && (stream as { isPipeline?: unknown }).isPipeline === true)
  );
}
