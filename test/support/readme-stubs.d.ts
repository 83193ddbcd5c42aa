// Packages the README's snippets import that this repository does not install: just enough to type-check them.
declare module '@opentelemetry/sdk-node' {
  export class NodeSDK {
    constructor(config: { serviceName?: string; traceExporter?: unknown; instrumentations?: unknown[] });
    start(): void;
  }
}
