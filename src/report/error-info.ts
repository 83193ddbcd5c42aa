import { errorText } from '../trace.messages.js';
import { isLibraryFrame } from './library-frames.js';

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
  code?: unknown;
  sqlMessage?: unknown;
  driverError?: unknown;
}

const MAX_MESSAGE = 500;
// Quoted text in a database error message is user data (`Duplicate entry 'alice@x.io' for key …`).
const QUOTED = /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g;

function isObject(value: unknown): value is ErrorLike {
  return value !== null && typeof value === 'object';
}

/** MySQL driver errors (mysql2 directly, or wrapped by TypeORM's QueryFailedError) carry values in their text. */
function isSqlError(error: ErrorLike): boolean {
  return (
    typeof error.sqlMessage === 'string' ||
    (isObject(error.driverError) && typeof error.driverError.sqlMessage === 'string')
  );
}

/**
 * PostgreSQL server errors (pg's `DatabaseError`, directly or wrapped by TypeORM's QueryFailedError, which also copies
 * its fields): the message quotes values (`invalid input syntax for type integer: "abc"`), and `detail` holds the
 * row's values (`Key (email)=(alice@x.io) already exists.`), so `detail`, `where`, `hint` are never shown.
 */
function isPostgresError(error: ErrorLike): boolean {
  const driver = isObject(error.driverError) ? error.driverError : error;
  const { severity, code } = driver as { severity?: unknown; code?: unknown };
  return typeof severity === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/** Redis reply errors can quote a command's arguments (`… with args beginning with: 'secret'`). */
function isRedisReplyError(error: ErrorLike): boolean {
  return error.name === 'ReplyError';
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function safeMessage(error: unknown): string {
  if (!isObject(error)) return cut(errorText(error), MAX_MESSAGE);
  try {
    const message = typeof error.message === 'string' ? error.message : errorText(error);
    if (isSqlError(error)) {
      const driver = isObject(error.driverError) ? error.driverError : error;
      const code = typeof driver.code === 'string' ? `${driver.code}: ` : '';
      const sqlMessage = typeof driver.sqlMessage === 'string' ? driver.sqlMessage : message;
      return cut(code + sqlMessage.replace(QUOTED, '?'), MAX_MESSAGE);
    }
    if (isPostgresError(error)) {
      const driver = isObject(error.driverError) ? error.driverError : error;
      const text = typeof driver.message === 'string' ? driver.message : message;
      return cut(`${String(driver.code)}: ${text.replace(QUOTED, '?')}`, MAX_MESSAGE);
    }
    return cut(isRedisReplyError(error) ? message.replace(QUOTED, '?') : message, MAX_MESSAGE);
  } catch {
    return 'unreadable error';
  }
}

/** The message shown on a span that threw: never throws, whatever was thrown (null, strings, proxies). */
export function spanErrorMessage(error: unknown): string {
  return safeMessage(error);
}

/** The report's `error` object. SQL errors are masked; the library's frames removed; the stack cut to `maxStackLength`. */
export function errorInfo(error: unknown, maxStackLength: number): { name: string; message: string; stack?: string } {
  const message = safeMessage(error);
  if (!isObject(error)) return { name: typeof error, message };
  try {
    let name = typeof error.name === 'string' ? error.name : 'Error';
    // Subclasses that do not set `name` (Nest's WsException, RpcException) still say what they are.
    const className = (error as { constructor?: { name?: unknown } }).constructor?.name;
    if (name === 'Error' && typeof className === 'string' && className !== '' && className !== 'Object')
      name = className;
    let stack = typeof error.stack === 'string' ? error.stack : undefined;
    if (stack !== undefined) {
      // The first lines of a stack repeat the (possibly unmasked) message: keep only the frames, and of those not
      // the library's own wrappers, which sit between every traced caller and callee (library-frames.ts).
      const frames = stack.split('\n').filter((line) => line.startsWith('    at ') && !isLibraryFrame(line));
      stack = cut([`${name}: ${message}`, ...frames].join('\n'), maxStackLength);
    }
    return stack === undefined || maxStackLength === 0 ? { name, message } : { name, message, stack };
  } catch {
    return { name: 'Error', message };
  }
}
