import type { ProbeError } from '../trace.types.js';
import { ProbeTimeoutError } from './with-timeout.js';

/** A `ProbeError` (docs/metrics.md): the probe is configured but could not answer. */
export function probeError(status: ProbeError['status'], error: string): ProbeError {
  return { status, error };
}

/** `true` for a `ProbeError` (or a section carrying one beside client-side numbers). */
export function isProbeError(value: unknown): value is ProbeError {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as ProbeError).status === 'string' &&
    typeof (value as ProbeError).error === 'string'
  );
}

/** Network error codes that mean "the server cannot be reached". */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/**
 * The common part of error classification: our own timeout, connect timeouts and unreachable servers.
 * Texts are codes or fixed phrases, never the driver's message, which may carry a host:port or SQL.
 */
export function networkProbeError(error: unknown): ProbeError | undefined {
  if (error instanceof ProbeTimeoutError) return probeError('timeout', error.message);
  const code = errorCode(error);
  if (code === 'ETIMEDOUT' || code === 'PROTOCOL_SEQUENCE_TIMEOUT') return probeError('timeout', code);
  if (code !== undefined && UNREACHABLE.has(code)) return probeError('unavailable', code);
  return undefined;
}

/** `error.code` when it is a string. */
export function errorCode(error: unknown): string | undefined {
  const code = error !== null && typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** `error.message` (or the value as text), cut to one short line, with URLs and `host:port` pairs masked. */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = (text.split('\n', 1)[0] ?? '')
    .replace(/\b[a-z][\w+.-]*:\/\/\S+/gi, '<url>')
    .replace(/[\w.:[\]-]+:\d{2,5}\b/g, '<address>');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
