const HALF = 2 ** 28;

/**
 * Whether an `ok` trace with this id is exported at `rate` (0…1). Decided from the trace id alone, so every service of
 * one distributed trace decides alike, with no coordination: the rule is OpenTelemetry's consistent probability
 * sampling (the W3C Trace Context level 2 "random" trace id): R, the last 56 bits (14 hex digits) of the trace id, is
 * kept when R ≥ (1 − rate) × 2^56. A trace kept at a rate is also kept at every higher rate.
 *
 * Written out for another language: `keep = int(trace_id[18:32], 16) >= (1 - rate) * 2**56`.
 */
export function keepByTraceId(traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  // 56 bits do not fit a double's 53: R and the threshold are compared as two 28-bit halves, exactly.
  const high = Number.parseInt(traceId.slice(18, 25), 16);
  const low = Number.parseInt(traceId.slice(25, 32), 16);
  if (Number.isNaN(high) || Number.isNaN(low)) return false;
  const threshold = Math.ceil((1 - rate) * HALF * HALF);
  const thresholdHigh = Math.floor(threshold / HALF);
  return high > thresholdHigh || (high === thresholdHigh && low >= threshold - thresholdHigh * HALF);
}
