import type { TraceRecord } from '../trace.types.js';

/**
 * What the text header adds for background work: `  overrun +120ms` for an `@Interval` run longer than its period,
 * `  job 42 attempt 2 waited 15ms` for a queue job; empty for everything else.
 */
export function backgroundNote(record: TraceRecord): string {
  let note = '';
  if (record.overrunMs !== undefined) note += `  overrun +${Math.round(record.overrunMs)}ms`;
  const job = record.queue;
  if (job !== undefined) note += `  job ${job.jobId} attempt ${job.attempt} waited ${Math.round(job.waitMs)}ms`;
  return note;
}
