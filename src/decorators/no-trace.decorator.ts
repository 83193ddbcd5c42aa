import { NO_TRACE_METADATA } from '../trace.tokens.js';

/** Excludes a method from a class-level `@Trace()`. */
export function NoTrace(): MethodDecorator {
  return (target, propertyKey) => {
    Reflect.defineMetadata(NO_TRACE_METADATA, true, target, propertyKey);
  };
}
