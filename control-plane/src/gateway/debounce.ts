// Coalesces bursts of edits into one action: runs `action` once `quietMs` pass without a new
// trigger, but never later than `maxDelayMs` after the first trigger of a burst (a steady
// trickle of edits still gets pushed). Actions never overlap: a trigger during a run schedules
// one more run after it.
export interface DebouncerOptions {
  quietMs: number;
  maxDelayMs: number;
}

export class Debouncer {
  private timer: NodeJS.Timeout | undefined;
  private burstStart = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly action: () => Promise<void>,
    private readonly o: DebouncerOptions,
  ) {}

  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const now = Date.now();
    if (this.timer === undefined) this.burstStart = now;
    else clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.o.quietMs, this.burstStart + this.o.maxDelayMs - now));
    this.timer = setTimeout(() => void this.run(), wait);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    // The action reports its own failures (a rejected config is logged and kept out); a throw
    // here must not become an unhandled rejection of a timer callback.
    this.running = this.action()
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined;
      });
    await this.running;
    if (this.again) {
      this.again = false;
      this.trigger();
    }
  }
}
