// Packages the README's snippets import that this repository does not install: just enough to type-check them.
declare module '@nestjs/config' {
  import type { DynamicModule } from '@nestjs/common';
  export class ConfigModule {
    static forRoot(options?: Record<string, unknown>): DynamicModule;
  }
  export class ConfigService {
    get<T = unknown>(key: string, defaultValue?: T): T;
  }
}
declare module '@opentelemetry/sdk-node' {
  export class NodeSDK {
    constructor(config: { serviceName?: string; traceExporter?: unknown; instrumentations?: unknown[] });
    start(): void;
  }
}
