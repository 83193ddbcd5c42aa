const HOUR_MS = 3_600_000;

/** At most `maxPerHour` profiles in any sliding hour: the start times of the last hour's profiles, oldest first. */
export class ProfileBudget {
  private readonly starts: number[] = [];

  constructor(
    private readonly maxPerHour: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one profile from the budget if the last hour left one; `false` otherwise. */
  take(): boolean {
    const now = this.now();
    while (this.starts.length > 0 && now - (this.starts[0] ?? now) >= HOUR_MS) this.starts.shift();
    if (this.starts.length >= this.maxPerHour) return false;
    this.starts.push(now);
    return true;
  }
}
