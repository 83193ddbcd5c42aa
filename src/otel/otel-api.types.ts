/**
 * The few parts of `@opentelemetry/api` the bridge uses, declared here so that the library's types never
 * reference the optional package.
 */
export type OtelAttributes = Record<string, string | number | boolean>;

export interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
}

export interface OtelSpan {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: string | number | boolean): unknown;
  updateName(name: string): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: { name?: string; message?: string; stack?: string }, time?: number): void;
  addEvent(name: string, attributes?: OtelAttributes, time?: number): unknown;
  isRecording(): boolean;
  end(endTime?: number): void;
}

export interface OtelTracer {
  startSpan(
    name: string,
    options?: { kind?: number; startTime?: number; attributes?: OtelAttributes },
    context?: unknown,
  ): OtelSpan;
}

export interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): OtelTracer;
    getSpan(context: unknown): OtelSpan | undefined;
    setSpan(context: unknown, span: OtelSpan): unknown;
    setSpanContext(context: unknown, spanContext: OtelSpanContext): unknown;
    /** The global provider: a `ProxyTracerProvider` whose delegate is a no-op until an SDK registers one. */
    getTracerProvider(): { getDelegate?(): unknown };
  };
  context: { active(): unknown };
  ROOT_CONTEXT: unknown;
  SpanKind: { INTERNAL: number; SERVER: number; CLIENT: number; CONSUMER: number };
  SpanStatusCode: { ERROR: number };
}
