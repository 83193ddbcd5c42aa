import { Injectable } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { Trace } from '../../../src/index.js';

/** Milliseconds between game ticks. */
export const TICK_MS = 100;

/** The world the tick advances: class-level `@Trace()`, so each step is a span of the tick's trace. */
@Trace()
@Injectable()
export class World {
  ticks = 0;

  advance(): number {
    return ++this.ticks;
  }
}

/**
 * The game tick. nestjs-trace finds `@Interval` by itself: each tick is a trace of its own (transport `cron`, route
 * `game-tick`), and a tick that takes longer than `TICK_MS` (the event loop was blocked, the step was slow) is
 * reported `slow` with `overrunMs`, whatever `SLOW_MS` says: that is the tick players see as a stutter.
 */
@Injectable()
export class GameLoop {
  constructor(private readonly world: World) {}

  @Interval('game-tick', TICK_MS)
  tick(): void {
    this.world.advance();
  }
}
