/** Mounts the client gateway (LBS, both link transports, sessions) on the server-API HTTP server. */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Bus } from '../bus/port.js';
import type { MessagingService } from '../messaging/service.js';
import type { Runtime } from '../runtime.js';
import { Gateway } from './hub.js';
import { attachTransports } from './transport.js';

export interface MountOptions {
  runtime: Runtime;
  messaging: MessagingService;
  bus: Bus;
  logger: Logger;
  now: () => number;
  publicLink?: string | undefined;
  /** Packets per second per link after the burst (`--gateway-packet-rate`). */
  packetRate?: number | undefined;
}

export function mountGateway(app: FastifyInstance, o: MountOptions): Gateway {
  const gateway = new Gateway({
    accounts: o.runtime.accounts,
    accountReader: o.runtime.store,
    apps: o.runtime.apps,
    messaging: o.messaging,
    bus: o.bus,
    logger: o.logger.child({ component: 'gateway' }),
    now: o.now,
    nodeId: randomBytes(3).toString('hex'),
    packetRate: o.packetRate,
  });
  attachTransports(app, gateway, { publicLink: o.publicLink });
  app.addHook('onReady', () => gateway.start());
  return gateway;
}
