// Keys a function owns that must stay the wrapper's own (they describe the function object itself).
const OWN_FUNCTION_KEYS = new Set<string | symbol>(['name', 'length', 'prototype', 'arguments', 'caller']);

/**
 * Makes `target` look like `source` to Nest, Swagger and friends: every reflect-metadata key (routes,
 * `@SubscribeMessage`, guards, `design:*` …), other own properties, `name` and `length`.
 * Nest reads guards and route options from the handler function itself, so a lost key can mean an
 * unprotected route (open-telemetry/opentelemetry-js-contrib#633).
 */
export function copyMethodMetadata(source: object, target: object): void {
  for (const key of Reflect.getOwnMetadataKeys(source) as unknown[]) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, source), target);
  }
  for (const key of Reflect.ownKeys(source)) {
    if (OWN_FUNCTION_KEYS.has(key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(source, key);
    if (descriptor && !Object.prototype.hasOwnProperty.call(target, key))
      Object.defineProperty(target, key, descriptor);
  }
  const name = Object.getOwnPropertyDescriptor(source, 'name');
  const length = Object.getOwnPropertyDescriptor(source, 'length');
  if (name) Object.defineProperty(target, 'name', { ...name, value: name.value as unknown });
  if (length) Object.defineProperty(target, 'length', { ...length, value: length.value as unknown });
}
