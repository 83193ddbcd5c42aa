import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  Injectable,
  Param,
  Post,
  Query,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { NoTrace, Trace, TraceContext } from 'nestjs-trace';
import { sleep } from './report-capture';

@Trace()
@Injectable()
export class RoomService {
  async find(id: string): Promise<{ id: string }> {
    await this.load(id);
    return { id };
  }
  async load(_id: string): Promise<void> {
    await sleep(2);
  }
  async slow(ms: number): Promise<void> {
    await this.validate();
    await sleep(ms);
    await this.save();
  }
  validate(): boolean {
    return true;
  }
  async save(): Promise<void> {
    await sleep(1);
  }
  async fail(message: string): Promise<never> {
    await sleep(1);
    throw new Error(message);
  }
  @NoTrace()
  untraced(): string {
    return 'untraced';
  }
}

@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}
  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.get<string[] | undefined>('roles', context.getHandler());
    if (!roles) return true;
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    return roles.includes(request.headers['x-role'] ?? '');
  }
}

@Controller('rooms')
@Trace()
export class RoomsController {
  constructor(private readonly rooms: RoomService) {}

  @Get(':id')
  find(@Param('id') id: string): Promise<{ id: string }> {
    return this.rooms.find(id);
  }

  @Get(':id/slow')
  async slow(
    @Param('id') id: string,
    @Query('ms') ms?: string,
  ): Promise<{ id: string; traceId: string | undefined; untraced: string }> {
    await this.rooms.slow(Number(ms ?? 150));
    return { id, traceId: TraceContext.current()?.traceId, untraced: this.rooms.untraced() };
  }

  @Get(':id/fail')
  fail(): Promise<never> {
    return this.rooms.fail('Room is full');
  }

  @Get(':id/forbidden')
  forbidden(): never {
    throw new ForbiddenException('not yours');
  }

  @Get(':id/admin')
  @SetMetadata('roles', ['admin'])
  @UseGuards(RolesGuard)
  admin(): { ok: true } {
    return { ok: true };
  }

  @Post()
  @HttpCode(201)
  create(@Body() body: { name: string }): { name: string } {
    return { name: body.name };
  }
}
