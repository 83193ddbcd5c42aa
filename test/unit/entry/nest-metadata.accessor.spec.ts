import 'reflect-metadata';
import { INTERCEPTORS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { PATTERN_METADATA } from '@nestjs/microservices/constants.js';
import {
  GATEWAY_METADATA,
  GATEWAY_SERVER_METADATA,
  MESSAGE_MAPPING_METADATA,
  MESSAGE_METADATA,
} from '@nestjs/websockets/constants.js';
import { NEST_METADATA } from '../../../src/entry/nest-metadata.accessor.js';

// The accessor reads Nest's metadata by value so the websockets and microservices packages stay optional: each key
// is pinned here to the constant the installed Nest package exports, so a rename in Nest fails this test.
describe('Nest metadata keys', () => {
  it.each([
    ['path', PATH_METADATA],
    ['method', METHOD_METADATA],
    ['interceptors', INTERCEPTORS_METADATA],
    ['gateway', GATEWAY_METADATA],
    ['gatewayServer', GATEWAY_SERVER_METADATA],
    ['messageMapping', MESSAGE_MAPPING_METADATA],
    ['message', MESSAGE_METADATA],
    ['pattern', PATTERN_METADATA],
  ] as const)('%s is the key Nest uses', (name, key) => {
    expect(NEST_METADATA[name]).toBe(key);
  });

  it('has no key the pins above do not cover', () => {
    expect(Object.keys(NEST_METADATA).sort()).toEqual(
      ['gateway', 'gatewayServer', 'interceptors', 'message', 'messageMapping', 'method', 'path', 'pattern'].sort(),
    );
  });
});
