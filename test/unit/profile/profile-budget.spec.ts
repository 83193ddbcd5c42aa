import { ProfileBudget } from '../../../src/profile/profile-budget.js';

describe('ProfileBudget', () => {
  it('allows maxPerHour profiles in any sliding hour', () => {
    let now = 0;
    const budget = new ProfileBudget(2, () => now);
    expect(budget.take()).toBe(true);
    now = 1000;
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
    now = 3_599_999;
    expect(budget.take()).toBe(false);
    now = 3_600_000; // the first one is an hour old
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
    now = 3_601_000;
    expect(budget.take()).toBe(true);
  });
});
