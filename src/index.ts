export { TraceModule } from './trace.module.js';
export { Trace } from './decorators/trace.decorator.js';
export type { TraceOptions } from './decorators/trace.decorator.js';
export { NoTrace } from './decorators/no-trace.decorator.js';
export { TraceContext } from './context/trace-context.js';
export { traceLogFields } from './logs/trace-log-fields.js';
export type { TraceLogFields } from './logs/trace-log-fields.js';
export { TraceInterceptor } from './entry/trace.interceptor.js';
export { SystemMetricsService } from './metrics/system-metrics.service.js';
export { instrumentSocketIoAdmin } from './admin/socket-io-admin.js';
export type { SocketIoServerLike, SocketIoNamespaceLike } from './admin/socket-io.types.js';
export type {
  TraceModuleOptions,
  TraceInstrumentOptions,
  TraceMemoryMonitorOptions,
  TraceSocketIoAdminOptions,
  TraceProfileOptions,
} from './trace.options.js';
export type {
  TraceRecord,
  BlockedRecord,
  BlockedStackFrame,
  BlockedTraceInfo,
  GcPause,
  ReportRecord,
  SpanRecord,
  SystemMetrics,
  ProbeError,
  TraceOutcome,
  TraceTransport,
  CpuMetrics,
  MemoryMetrics,
  EventLoopMetrics,
  MysqlMetrics,
  RedisMetrics,
  PostgresMetrics,
  TraceFinding,
  QueueJobRecord,
  ProfileRecord,
  ProfileFunction,
} from './trace.types.js';
