import { classifyMysqlError } from '../../../src/metrics/mysql.probe.js';
import { errorMessage, networkProbeError } from '../../../src/metrics/probe-error.js';
import { ProbeTimeoutError } from '../../../src/metrics/with-timeout.js';

const withCode = (code: string, message = `${code} happened`): Error => Object.assign(new Error(message), { code });

describe('probe error classification', () => {
  it.each([
    [new ProbeTimeoutError(500), { status: 'timeout', error: 'timeout after 500 ms' }],
    [withCode('ETIMEDOUT'), { status: 'timeout', error: 'ETIMEDOUT' }],
    [withCode('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.7:3306'), { status: 'unavailable', error: 'ECONNREFUSED' }],
    [
      withCode('ER_ACCESS_DENIED_ERROR', "Access denied for user 'app'@'10.0.0.7' (using password: YES)"),
      { status: 'forbidden', error: 'ER_ACCESS_DENIED_ERROR' },
    ],
    [withCode('ER_SPECIFIC_ACCESS_DENIED_ERROR'), { status: 'forbidden', error: 'ER_SPECIFIC_ACCESS_DENIED_ERROR' }],
    [withCode('PROTOCOL_CONNECTION_LOST'), { status: 'unavailable', error: 'PROTOCOL_CONNECTION_LOST' }],
    [withCode('ER_CON_COUNT_ERROR'), { status: 'unavailable', error: 'ER_CON_COUNT_ERROR' }],
    [withCode('ER_PARSE_ERROR'), { status: 'unsupported', error: 'ER_PARSE_ERROR' }],
    [withCode('ER_UNKNOWN_SYSTEM_VARIABLE'), { status: 'unsupported', error: 'ER_UNKNOWN_SYSTEM_VARIABLE' }],
    // A connection ended under the query (the app shutting down) and driver codes the probe does not know.
    [withCode('ERR_STREAM_WRITE_AFTER_END'), { status: 'unavailable', error: 'ERR_STREAM_WRITE_AFTER_END' }],
    [withCode('ER_SOMETHING_NEW'), { status: 'unavailable', error: 'ER_SOMETHING_NEW' }],
    [
      new Error("Can't add new command when connection is in closed state"),
      { status: 'unavailable', error: 'connection closed' },
    ],
  ])('MySQL %#: %s', (error, expected) => {
    expect(classifyMysqlError(error)).toEqual(expected);
  });

  it('reports codes, not driver messages (which carry hosts, users and SQL)', () => {
    const text = JSON.stringify(
      classifyMysqlError(withCode('ER_ACCESS_DENIED_ERROR', "Access denied for user 'app'@'10.0.0.7'")),
    );
    expect(text).not.toMatch(/10\.0\.0\.7|'app'/);
  });

  it('masks URLs and host:port pairs in the rare message it keeps', () => {
    expect(errorMessage(new Error('cannot reach redis://user:pw@cache.internal:6380/0 now'))).toBe(
      'cannot reach <url> now',
    );
    expect(errorMessage(new Error('connect to db.internal:3306 failed\nstack…'))).toBe('connect to <address> failed');
  });

  it('leaves other errors to the probe', () => {
    expect(networkProbeError(new Error('NOPERM'))).toBeUndefined();
  });
});
