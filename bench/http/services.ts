import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';

// Ten service methods per request, nested and sequential, sync and async, each doing a little real work
// (the shapes of a typical handler: validate, load, enrich, price, save). They carry no decorator here:
// app.ts applies `@Trace` or the nestjs-otel-style `@Span` per variant, so every variant runs the same code.

@Injectable()
export class InventoryRepository {
  async find(id: number): Promise<{ id: number; sku: string; qty: number }> {
    return { id, sku: `SKU-${id % 100}`, qty: id % 7 };
  }
  enrich(item: { id: number; sku: string; qty: number }): { id: number; sku: string; qty: number; tags: string[] } {
    return { ...item, tags: item.qty > 3 ? ['plenty'] : ['scarce'] };
  }
}

@Injectable()
export class PricingService {
  async price(qty: number): Promise<number> {
    const base = await this.base(qty);
    return base - this.discount(base);
  }
  async base(qty: number): Promise<number> {
    return 10 + qty * 2.5;
  }
  discount(amount: number): number {
    return amount > 20 ? amount * 0.1 : 0;
  }
}

@Injectable()
export class OrdersService {
  constructor(
    private readonly inventory: InventoryRepository,
    private readonly pricing: PricingService,
  ) {}

  async handle(id: number, slowMs: number): Promise<{ id: number; total: number; tags: string[] }> {
    this.validate(id);
    const item = this.inventory.enrich(await this.inventory.find(id));
    const total = await this.pricing.price(item.qty);
    await this.save(id, total, slowMs);
    return { id, total, tags: item.tags };
  }
  validate(id: number): void {
    if (!Number.isInteger(id) || id < 0) throw new Error('bad id');
  }
  async save(id: number, total: number, slowMs: number): Promise<void> {
    if (slowMs > 0) await sleep(slowMs);
    this.audit(id, total);
  }
  audit(id: number, total: number): string {
    return `${id}:${total.toFixed(2)}`;
  }
}

/**
 * The methods that call other methods after an `await` of their own (`save` only in the 1 % of requests that sleep):
 * the ones whose children a design with exact nesting must tell apart from their caller's by giving each call a
 * context of its own. TraceModule gives these three a frame (an `AsyncLocalStorage.run`) per call; the
 * `als-mw-nested` floor does the same with a bare context (bench/http/app.ts).
 */
export const AWAITING_PARENTS: ReadonlyArray<readonly [object, string]> = [
  [OrdersService.prototype, 'handle'],
  [PricingService.prototype, 'price'],
  [OrdersService.prototype, 'save'],
];

/** Every service class of the app and the methods a variant decorates (10 per request). */
export const SERVICE_CLASSES = [OrdersService, InventoryRepository, PricingService] as const;

/** Applies a method decorator to every method of the service classes (`@Trace()` or the OTel-style `@Span()`). */
export function decorateServices(
  decorate: (target: object, key: string, descriptor: PropertyDescriptor) => void,
): void {
  for (const cls of SERVICE_CLASSES) {
    const prototype = cls.prototype as object;
    for (const key of Object.getOwnPropertyNames(prototype)) {
      if (key === 'constructor') continue;
      const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
      if (!descriptor || typeof descriptor.value !== 'function') continue;
      decorate(prototype, key, descriptor);
      Object.defineProperty(prototype, key, descriptor);
    }
  }
}
