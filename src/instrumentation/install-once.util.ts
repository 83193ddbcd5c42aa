/** What an instrumentation returns: a function that removes it again (safe to call more than once). */
export type Uninstall = () => void;

/** For targets there is nothing to instrument on. */
export const NOTHING_TO_UNDO: Uninstall = () => undefined;

interface Installation {
  refs: number;
  uninstall: Uninstall;
}

/**
 * Installs on `target` once however often it is asked (two apps sharing one client, a module re-created in tests):
 * each caller gets its own idempotent uninstall, and the instrumentation is removed when the last one is called.
 */
export function installOnce(registry: WeakMap<object, unknown>, target: object, install: () => Uninstall): Uninstall {
  const installations = registry as WeakMap<object, Installation>;
  let installation = installations.get(target);
  if (installation) {
    installation.refs++;
  } else {
    installation = { refs: 1, uninstall: install() };
    installations.set(target, installation);
  }
  const current = installation;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--current.refs > 0) return;
    installations.delete(target);
    current.uninstall();
  };
}
