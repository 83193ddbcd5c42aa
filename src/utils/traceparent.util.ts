// W3C Trace Context: version-traceid-parentid-flags, lowercase hex. Anything else is ignored, never trusted.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/**
 * Parses a `traceparent` value; `undefined` for anything malformed (also over-long or multi-line input). `sampled` is
 * the flags' lowest bit: the caller records the trace.
 */
export function parseTraceparent(value: unknown): { traceId: string; spanId: string; sampled: boolean } | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match || match[1] === 'ff') return undefined;
  const traceId = match[2] as string;
  const spanId = match[3] as string;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(match[4] as string, 16) & 1) === 1 };
}
