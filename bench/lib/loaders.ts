/**
 * Load generators. Both send real signed requests over keep-alive connections: a fresh Nonce and
 * CheckSum = sha1(AppSecret + Nonce + CurTime) per request, `{n}` in the body replaced by a unique
 * value per request (so each create registers a new accid).
 *
 * wrk (C, one thread by default, signing in LuaJIT) is the default when it is on the PATH: it drives
 * the server about twice as hard per core as autocannon (JavaScript), and on a 2-core machine the
 * load generator and the server share the cores, so the cheaper generator measures the server, not itself.
 */
import { execFileSync, spawn } from 'node:child_process';
import { hash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { cpuSeconds } from './proc.js';

export type LoaderName = 'wrk' | 'autocannon';

export interface LoadSpec {
  port: number;
  path: string;
  /** Form body; every `{n}` becomes a value unique to the request, `{m}` that request's number modulo 1000. */
  bodyTemplate: string;
  appKey: string;
  appSecret: string;
  /** Distinguishes runs against the same server (warm-up vs measured) so unique values stay unique. */
  runId: string;
  connections: number;
  threads: number;
  durationSeconds: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Answers by CommsEase `code` (or `httpNNN` when the body had none). */
  codes: Record<string, number>;
  errors: number;
  /** CPU seconds the load generator itself used (to compare generators per core). */
  loaderCpuSeconds: number | undefined;
}

const WRK_SCRIPT = fileURLToPath(new URL('../wrk/signed.lua', import.meta.url));

export function wrkAvailable(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // `wrk --version` prints its banner and exits 1; only a missing binary is "unavailable".
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

export function runLoad(loader: LoaderName, spec: LoadSpec): Promise<LoadResult> {
  return loader === 'wrk' ? runWrk(spec) : runAutocannon(spec);
}

function runWrk(s: LoadSpec): Promise<LoadResult> {
  const args = [
    `-t${s.threads}`,
    `-c${s.connections}`,
    `-d${s.durationSeconds}s`,
    '--timeout',
    '10s',
    '-s',
    WRK_SCRIPT,
    `http://127.0.0.1:${s.port}`,
    '--',
    s.appKey,
    s.appSecret,
    s.path,
    s.runId,
    s.bodyTemplate,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    // wrk's own CPU time, sampled from /proc until it exits (the last sample is within 100 ms of the end).
    let loaderCpu: number | undefined;
    const sampler = setInterval(() => {
      loaderCpu = cpuSeconds(child.pid!) ?? loaderCpu;
    }, 100);
    child.on('error', (err) => {
      clearInterval(sampler);
      reject(new Error(`wrk failed: ${err.message}`));
    });
    child.on('close', (code) => {
      clearInterval(sampler);
      if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${stderr}`));
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON'));
      if (!line) return reject(new Error(`wrk printed no result: ${stdout} ${stderr}`));
      const r = JSON.parse(line.slice('BENCH_JSON'.length)) as {
        requests: number;
        durationUs: number;
        errors: Record<string, number>;
        latencyUs: { p50: number; p90: number; p99: number; max: number; mean: number };
        codes: Record<string, number>;
      };
      const seconds = r.durationUs / 1e6;
      const ms = (us: number) => us / 1000;
      resolve({
        requests: r.requests,
        seconds,
        requestsPerSecond: r.requests / seconds,
        latencyMs: {
          p50: ms(r.latencyUs.p50),
          p90: ms(r.latencyUs.p90),
          p99: ms(r.latencyUs.p99),
          max: ms(r.latencyUs.max),
          mean: ms(r.latencyUs.mean),
        },
        codes: r.codes,
        errors: Object.values(r.errors).reduce((a, b) => a + b, 0),
        loaderCpuSeconds: loaderCpu,
      });
    });
  });
}

const CODE = /"code":(\d+)/;

async function runAutocannon(s: LoadSpec): Promise<LoadResult> {
  let counter = 0;
  const codes: Record<string, number> = {};
  const cpu0 = process.cpuUsage();
  const result = await autocannon({
    url: `http://127.0.0.1:${s.port}`,
    connections: s.connections,
    duration: s.durationSeconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: s.path,
        setupRequest: (req) => {
          counter++;
          const n = `${s.runId}a${counter}`;
          const curTime = String(Math.floor(Date.now() / 1000));
          return {
            ...req,
            headers: {
              AppKey: s.appKey,
              Nonce: n,
              CurTime: curTime,
              CheckSum: hash('sha1', s.appSecret + n + curTime, 'hex'),
              'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8',
            },
            body: s.bodyTemplate.replaceAll('{n}', n).replaceAll('{m}', String(counter % 1000)),
          };
        },
        onResponse: (status, body) => {
          const code = CODE.exec(body)?.[1] ?? `http${status}`;
          codes[code] = (codes[code] ?? 0) + 1;
        },
      },
    ],
  });
  const seconds = result.duration;
  return {
    requests: result.requests.total,
    seconds,
    requestsPerSecond: result.requests.total / seconds,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
    codes,
    errors: result.errors + result.timeouts + result.non2xx,
    // autocannon runs in this process: its CPU time is ours (the harness is idle meanwhile).
    loaderCpuSeconds: ((u) => (u.user + u.system) / 1e6)(process.cpuUsage(cpu0)),
  };
}
