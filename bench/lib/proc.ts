/** Child servers for the benchmarks: start, find the port, sample CPU and memory from /proc, stop. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Child {
  proc: ChildProcess;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Spawns `node args…` and resolves once a stdout line matches `portPattern` (first group = port). */
export function startChild(args: string[], portPattern: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  // BENCH_ECHO: the server's output on this terminal (stdout too: `--node-arg=--trace-gc` prints there).
  if (process.env.BENCH_ECHO) proc.stdout!.on('data', (c) => process.stderr.write(c));
  let err = '';
  proc.stderr!.on('data', (c) => {
    if (process.env.BENCH_ECHO) process.stderr.write(c);
    err += c;
    if (err.length > 65536) err = err.slice(-32768);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`server did not start in 20 s: ${err}`)), 20_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(e);
    };
    proc.once('exit', (code) => fail(new Error(`server exited with ${code} before listening: ${err}`)));
    const onData = (c: Buffer) => {
      out += c;
      const m = portPattern.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      // Done with the output: later chunks (probe answers, logs) must not come back here.
      proc.stdout!.off('data', onData);
      proc.stdout!.resume();
      resolve({
        proc,
        pid: proc.pid!,
        port: Number(m[1]),
        stop: () => stopChild(proc),
      });
    };
    proc.stdout!.on('data', onData);
  });
}

/** Node flags that load bench/server-probe.mjs (`root`: the repository) into a server. */
export const probeArgs = (root: string): string[] => [
  '--expose-gc',
  '--import',
  join(root, 'bench/server-probe.mjs'),
];

/**
 * The environment for a server started with bench/server-probe.mjs whose measured windows last
 * `seconds`: one sample per 32 KiB × `seconds` allocated (64 KiB at least). The profiler keeps
 * every sample until it is stopped, about 200 bytes each in the server's RSS (with one per 64 KiB,
 * a 10-minute create run grew 9 MiB from them alone); so a window keeps about 9,000 at the highest
 * allocation rates measured here (~300 MB/s) however long it lasts, and a 10 s window at the
 * gateway's fixed rate (~60 MB/s) still about 1,900, enough for an estimate within ~2 %.
 */
export const probeEnv = (seconds: number): Record<string, string> => ({
  NIMBASE_BENCH_PROBE_INTERVAL_KIB: String(Math.max(64, Math.ceil(32 * seconds))),
});

const PROBE_LINE = /^nimbase-bench-probe seq=(\d+) alloc-bytes=(-?\d+)$/;

/** Per child: signals sent, and who waits for the answer to which (a late answer finds nobody). */
interface ProbeState {
  sent: number;
  waiting: Map<number, (bytes: number) => void>;
}
const probes = new WeakMap<Child, ProbeState>();

function probeState(child: Child): ProbeState {
  const known = probes.get(child);
  if (known) return known;
  const st: ProbeState = { sent: 0, waiting: new Map() };
  let partial = '';
  // Whole lines only: a chunk may end in the middle of one.
  child.proc.stdout!.on('data', (c: Buffer) => {
    const lines = (partial + c).split('\n');
    partial = lines.pop()!.slice(-4096);
    for (const line of lines) {
      const m = PROBE_LINE.exec(line);
      if (!m) continue;
      st.waiting.get(Number(m[1]))?.(Number(m[2]));
    }
  });
  probes.set(child, st);
  return st;
}

/**
 * Signals `child`, which must have been started with bench/server-probe.mjs (without it, SIGUSR2
 * ends the process), and resolves the bytes its main thread allocated since the previous signal
 * once its full GC is done. Undefined when the count failed, or when the answer to this very
 * signal did not come within `timeoutMs` (a late answer is never taken for a later signal's).
 */
export function probe(child: Child, timeoutMs = 10_000): Promise<number | undefined> {
  const st = probeState(child);
  const k = ++st.sent;
  return new Promise((resolve) => {
    const done = (bytes: number | undefined) => {
      clearTimeout(timer);
      st.waiting.delete(k);
      resolve(bytes === undefined || bytes < 0 ? undefined : bytes);
    };
    const timer = setTimeout(() => {
      process.stderr.write(`bench: the server's probe did not answer signal ${k} in ${timeoutMs} ms\n`);
      done(undefined);
    }, timeoutMs);
    st.waiting.set(k, done);
    child.proc.kill('SIGUSR2');
  });
}

export function stopChild(proc: ChildProcess, graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system) a process has used so far; undefined off Linux. */
export function cpuSeconds(pid: number, thread?: number): number | undefined {
  try {
    // /proc/<pid>/task/<tid>/stat: one thread (the main thread's tid is the pid: the event loop).
    const stat = readFileSync(
      thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
      'utf8',
    );
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** Resident and peak resident memory in MiB; undefined off Linux. */
export function memoryMiB(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * The host's CPU pressure (PSI "some avg10", % of the last 10 s in which some task waited for a CPU):
 * near 0 on an idle machine; high values mean other processes competed with the run.
 */
export function cpuPressure(): number | undefined {
  try {
    const m = /some avg10=([0-9.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
