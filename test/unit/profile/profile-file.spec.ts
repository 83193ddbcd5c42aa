import { profilePath } from '../../../src/profile/profile-file.js';

describe('profilePath', () => {
  it('names a trace profile after the trace and a blocked one after the time, without colons', () => {
    expect(profilePath('/var/profiles', 'a'.repeat(32), 0)).toBe(`/var/profiles/${'a'.repeat(32)}.cpuprofile`);
    expect(profilePath('/var/profiles', undefined, Date.UTC(2026, 10, 30, 2, 16, 12, 345))).toBe(
      '/var/profiles/blocked-2026-11-30T02-16-12.345Z.cpuprofile',
    );
  });
});
