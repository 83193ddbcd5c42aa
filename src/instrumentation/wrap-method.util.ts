/** A method on one object (never a prototype shared with other instances). */
type Method = (this: unknown, ...args: never[]) => unknown;

/**
 * Replaces `target[key]` with `wrap(original)` as an own property of that one object (enumerable only if it already
 * was an enumerable own property), and returns a function that puts the previous state back (the original own
 * property, or none so that the prototype's method shows again).
 * If someone else wrapped the method on top of ours in the meantime, their wrapper is left in place: ours must then
 * pass calls straight through once uninstalled (every wrapper here checks an `active` flag for that reason).
 */
export function wrapMethod<F extends Method>(target: object, key: string, wrap: (original: F) => F): () => void {
  const own = Object.getOwnPropertyDescriptor(target, key);
  const original = Reflect.get(target, key) as F;
  const wrapped = wrap(original);
  Object.defineProperty(target, key, {
    value: wrapped,
    writable: true,
    configurable: true,
    enumerable: own?.enumerable ?? false,
  });
  return () => {
    if (Reflect.get(target, key) !== wrapped) return;
    if (own) Object.defineProperty(target, key, own);
    else Reflect.deleteProperty(target, key);
  };
}

/** `true` when `value` is an object whose `key` is a function. */
export function hasMethod<K extends string>(value: unknown, key: K): value is Record<K, Method> {
  return value !== null && typeof value === 'object' && typeof (value as Record<string, unknown>)[key] === 'function';
}
