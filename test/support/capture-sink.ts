import type { ActiveTrace, TraceSink } from '../../src/context/active-trace.js';
import { defaultSink } from '../../src/context/default-sink.js';
import { buildTraceRecord } from '../../src/report/trace-record.builder.js';
import { resolveOptions } from '../../src/resolve-options.js';
import type { TraceRecord } from '../../src/trace.types.js';

/** A sink that keeps finished traces, installed as the one `TraceContext.run` reports to. */
export class CaptureSink implements TraceSink {
  readonly finishedContexts: ActiveTrace[] = [];
  constructor(readonly maxSpans = 1000) {}
  opened(): void {}
  finished(context: ActiveTrace): void {
    this.finishedContexts.push(context);
  }
  records(): TraceRecord[] {
    return this.finishedContexts.map((context) => buildTraceRecord(context, 'ok', undefined, resolveOptions({})));
  }
  last(): TraceRecord {
    const records = this.records();
    const record = records[records.length - 1];
    if (!record) throw new Error('no trace finished');
    return record;
  }
  install(): this {
    defaultSink.current = this;
    return this;
  }
  uninstall(): void {
    if (defaultSink.current === this) defaultSink.current = undefined;
  }
}
