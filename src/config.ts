/**
 * Every setting of `nimbase serve`, from flags and environment variables, validated once at start
 * into a typed object. Nothing else reads process.env.
 */
import { z } from 'zod';
import { GATEWAY_LIMITS } from './gateway/limits.js';
import { parseRateRules } from './limits/rules.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {}

const intIn = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, `${name} must be an integer`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`);

/** Data settings shared by every command that touches the database. */
export const dataSchema = z.object({
  dataDir: z.string().min(1, 'data dir must not be empty').default('./data'),
  databaseUrl: z.string().optional(),
  secretKey: z.string().optional(),
  durability: z.enum(['full', 'normal'], { error: 'durability must be full or normal' }).default('full'),
});

const flag = (name: string) =>
  z
    .enum(['true', 'false', '1', '0'], { error: `${name} must be true or false` })
    .transform((v) => v === 'true' || v === '1');

export const serveSchema = dataSchema.extend({
  host: z.string().min(1, 'host must not be empty').default('127.0.0.1'),
  port: intIn('port', 0, 65535).default(8080),
  logLevel: z
    .enum(LOG_LEVELS, { error: `log level must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
  curTimeWindow: intIn('CurTime window', 0, 86_400 * 365).default(300),
  checksumMismatchCode: z
    .enum(['414', '403'], { error: 'checksum mismatch code must be 414 or 403' })
    .default('414')
    .transform((v) => (v === '403' ? 403 : 414) as 414 | 403),
  bodyLimit: intIn('body limit', 1024, 16 * 1024 * 1024).default(64 * 1024),
  requestTimeout: intIn('request timeout', 100, 600_000).default(10_000),
  appCacheTtl: intIn('app cache TTL', 0, 3_600_000).default(5000),
  /**
   * Lower-case an accid before looking it up (accounts-v1.md §0.1). Default false: lookups match the
   * stored lower-case accid exactly, as a NetEase support case shows the cloud doing on some paths.
   */
  lowercaseLookup: flag('lowercase lookup').default(false),
  /** Treat a create equal to the stored account as a replay of the first (extension; default false). */
  createReplay: flag('create replay').default(false),
  // Scale-out (docs/deployment.md): the broker shared by the nodes, and this node's name in it.
  busUrl: z.string().optional(),
  nodeId: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'node id must be 1 to 64 letters, digits, _ . or -')
    .optional(),
  /** After SIGTERM: how long readiness answers 503 while still serving, so a balancer drains us (ms). */
  shutdownDelay: intIn('shutdown delay', 0, 600_000).default(0),
  // Request limits (docs/deployment.md), off by default: public clients reuse fixed nonces.
  rateLimit: z
    .string()
    .default('off')
    .transform((spec, ctx) => {
      try {
        return parseRateRules(spec);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  replayProtection: z
    .enum(['off', 'on'], { error: 'replay protection must be off or on' })
    .default('off')
    .transform((v) => v === 'on'),
  /**
   * SQLite: a message resent (same sender and idClient) while its first copy is among the last
   * this-many messages stored is answered with that copy; older ones are stored anew. 0: never.
   * 20–28 bytes of memory per message of the window (docs/gateway.md).
   */
  resendWindow: intIn('resend window', 0, 20_000_000).default(500_000),
  /** After SIGTERM: the longest wait for in-flight work before the process exits anyway (ms). */
  shutdownTimeout: intIn('shutdown timeout', 100, 600_000).default(30_000),
  /** `host[:port]` the LBS hands to client SDKs (docs/client-sdk.md); default: the request's Host. */
  publicLink: z
    .string()
    .regex(/^[A-Za-z0-9.:[\]-]+$/, 'public link must be host[:port]')
    .optional(),
  /**
   * Packets per second one client link may send after its burst (GATEWAY_LIMITS.packetBurst); a
   * faster link is closed with 1008 (docs/client-sdk.md, Limits). Raise it for load tests.
   */
  gatewayPacketRate: intIn('gateway packet rate', 1, 1_000_000).default(GATEWAY_LIMITS.packetsPerSecond),
});

export type DataConfig = z.output<typeof dataSchema>;
export type ServeConfig = z.output<typeof serveSchema>;

/** Validates raw option values (strings or undefined); the first problem becomes a one-line ConfigError. */
export function parseConfig<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.output<S> {
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ConfigError(issue ? issue.message : 'invalid configuration');
}
