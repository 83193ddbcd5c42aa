// Jest setup file (CommonJS) that turns nestjs-trace on everywhere in a Nest app's own test suite, as issue 13's check
// did: `@Trace()` on every @Injectable, @Controller, @WebSocketGateway and @Catch class, and
// `TraceModule.forRoot(...)` imported into every `Test.createTestingModule(...)`. Loaded by run.sh through a Jest
// config that extends the app's own. Every module is resolved from the app (process.cwd()), so the library and the
// app share one copy of @nestjs/*; run.sh installs the packed library into the app's node_modules first.
'use strict';
/* global require */ // A CommonJS Jest setup file: `require` is its module system.
/* eslint-disable @typescript-eslint/no-require-imports */

const fromApp = (id) => require(require.resolve(id, { paths: [process.cwd()] }));
const optional = (id) => {
  try {
    return fromApp(id);
  } catch {
    return undefined;
  }
};

const { Trace, TraceModule } = fromApp('nestjs-trace');
const options = JSON.parse(
  process.env.TRACE_EVERYWHERE_OPTIONS ?? '{"slowThresholdMs":0,"logAll":true,"format":"json","hungThresholdMs":0}',
);

/** Replaces `exports[name]`, a class decorator factory, by one that also applies `@Trace()` to the class. */
function traceClassesOf(moduleExports, name) {
  const original = moduleExports?.[name];
  if (typeof original !== 'function' || original.traceEverywhere) return;
  const patched = function (...args) {
    const decorate = original.apply(this, args);
    return (target) => {
      const result = decorate(target);
      Trace()(target);
      return result;
    };
  };
  patched.traceEverywhere = true;
  moduleExports[name] = patched;
}

// The leaf modules: @nestjs/common's index re-exports them through getters that read these objects on every access.
traceClassesOf(optional('@nestjs/common/decorators/core/injectable.decorator'), 'Injectable');
traceClassesOf(optional('@nestjs/common/decorators/core/controller.decorator'), 'Controller');
traceClassesOf(optional('@nestjs/common/decorators/core/catch.decorator'), 'Catch');
traceClassesOf(optional('@nestjs/websockets/decorators/socket-gateway.decorator'), 'WebSocketGateway');

const testing = optional('@nestjs/testing');
const Test = testing?.Test;
if (Test && !Test.createTestingModule.traceEverywhere) {
  const original = Test.createTestingModule;
  Test.createTestingModule = function (metadata = {}, ...rest) {
    const imports = [...(metadata.imports ?? []), TraceModule.forRoot(options)];
    return original.call(this, { ...metadata, imports }, ...rest);
  };
  Test.createTestingModule.traceEverywhere = true;
}
