/**
 * The SQLite store's message writes without the network: what the writer thread and the
 * checkpointer cost and how long an insertMessage waits for its COMMIT, in a process of its own
 * (`npm run bench -- --scenario store`). The gateway's fixed-rate latency includes this wait; here it
 * is measured alone, without the load generator, the sockets or the protocol sharing the two CPUs.
 *
 * 1. fixed rate: `rate` messages a second, offered every millisecond whatever the answers (an open
 *    loop), each a p2p message with an offline entry and a random 32-hex idClient, as the SDK
 *    sends; latency is call → resolved (after COMMIT). Stalls are runs of sends slower than 3 ms.
 *    The offering timer's own CPU (measured idle for 2 s first) is reported beside the event loop's.
 * 2. saturation: 512 messages always in flight: messages/s and CPU per message.
 *
 * Usage: node bench/store-writes.mjs <dist dir> <seconds> <rate> <full|normal>
 * Prints one JSON line. The store comes from <dist dir>/store/sqlite.js, so another build's dist
 * can be measured (`--server .dist-x/cli.js`); `node --import tsx bench/store-writes.mjs src …`
 * measures the sources.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomHex32 } from './random-ids.mjs';

const [distDir, secondsArg, rateArg, durability] = process.argv.slice(2);
const seconds = Number(secondsArg);
const rate = Number(rateArg);
if (!distDir || !(seconds > 0) || !(rate > 0) || (durability !== 'full' && durability !== 'normal')) {
  process.stderr.write('usage: node bench/store-writes.mjs <dist dir> <seconds> <rate> <full|normal>\n');
  process.exit(2);
}
const { SqliteStore } = await import(pathToFileURL(resolve(distDir, 'store/sqlite.js')).href);

const APP = 'storebench';
const ACCOUNTS = 200;
const dir = mkdtempSync(join(tmpdir(), 'nimbase-store-bench-'));
const store = new SqliteStore({ path: join(dir, 'bench.db'), durability });
store.useSealingKey(randomBytes(32));
await store.migrate();
await store.insertApp({ appKey: APP, name: APP, secretSealed: Buffer.from([1]), createdAt: 1 });
const account = (i) => ({
  appKey: APP,
  accid: `u${i}`,
  token: randomBytes(16).toString('hex'),
  name: `User ${i}`,
  icon: null,
  sign: null,
  email: null,
  birth: null,
  mobile: null,
  ex: null,
  props: null,
  gender: 0,
  blocked: false,
  mute: false,
  muteP2P: false,
  muteTeam: false,
  muteRoom: false,
  muteQChat: false,
  muteAv: false,
  donnop: false,
  createdAt: 1,
  updatedAt: 1,
});
await Promise.all(Array.from({ length: ACCOUNTS }, (_, i) => store.insertAccount(account(i))));

let n = 0;
/** One p2p message as MessagingService.sendP2P stores it: an offline entry for the recipient. */
function send() {
  const i = n++;
  const from = `u${i % ACCOUNTS}`;
  const to = `u${(i * 7 + 1) % ACCOUNTS}`;
  const idClient = randomHex32();
  const fields = { 0: '0', 1: to, 2: from, 8: '0', 9: 'a 100-byte message body, '.repeat(4), 11: idClient };
  return store.insertMessage({ appKey: APP, scene: 0, from, to, idClient, time: Date.now(), fields }, [to]);
}

/**
 * CPU milliseconds of each thread of this process, from /proc/self/task/<tid>/schedstat (time on a
 * CPU in nanoseconds: finer than the 10 ms ticks of /proc/…/stat). The main thread's tid is the pid.
 */
function threadCpu() {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
/**
 * CPU µs per message: the event loop (the store's side of each call, plus this script's own message
 * making and offering timer), and every other thread (writer, checkpointer, V8's helper and GC
 * threads, libuv).
 */
function cpuPerMessage(before, after, messages) {
  let main = 0;
  let others = 0;
  for (const [tid, ms] of after) {
    const used = ms - (before.get(tid) ?? 0);
    if (tid === String(process.pid)) main += used;
    else others += used;
  }
  return { eventLoop: (main * 1000) / messages, writerSide: (others * 1000) / messages };
}
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

// Warm-up: 20,000 messages, so the tables are past their first pages (and, on builds before schema 12,
// the idClient index), the resend window holds messages and the checkpointer runs.
for (let g = 0; g < 200; g++) await Promise.all(Array.from({ length: 100 }, send));

/**
 * Main-thread CPU ms per second that the 1 ms offering timer costs by itself, measured for 2 s with
 * nothing to offer. Reported beside the event loop's figure as an upper bound of the timer's share
 * in it: under load the loop is often awake anyway when the timer fires.
 */
async function timerCost() {
  const cpu0 = threadCpu().get(String(process.pid)) ?? 0;
  const start = performance.now();
  await new Promise((done) => {
    const tick = setInterval(() => {
      if (performance.now() - start >= 2000) {
        clearInterval(tick);
        done();
      }
    }, 1);
  });
  return ((threadCpu().get(String(process.pid)) ?? 0) - cpu0) / ((performance.now() - start) / 1000);
}

async function fixedRate() {
  const idleTimer = await timerCost();
  const latencies = [];
  const slow = [];
  const cpu0 = threadCpu();
  const start = performance.now();
  let offered = 0;
  let pending = 0;
  await new Promise((done) => {
    const tick = setInterval(() => {
      const now = performance.now();
      const elapsed = now - start;
      if (elapsed >= seconds * 1000) {
        clearInterval(tick);
        const drained = () => (pending === 0 ? done() : setTimeout(drained, 5));
        drained();
        return;
      }
      // Whatever the timer's drift, the offered total follows the clock.
      const due = Math.floor((elapsed * rate) / 1000) - offered;
      for (let k = 0; k < due; k++) {
        offered++;
        pending++;
        const t0 = performance.now();
        send().then(() => {
          const ms = performance.now() - t0;
          latencies.push(ms);
          if (ms > 3) slow.push(t0 - start);
          pending--;
        });
      }
    }, 1);
  });
  const wall = (performance.now() - start) / 1000;
  const cpu = cpuPerMessage(cpu0, threadCpu(), offered);
  cpu.timerAtMost = (idleTimer * wall * 1000) / offered;
  latencies.sort((a, b) => a - b);
  // A stall: sends slower than 3 ms that started within 20 ms of each other.
  let stalls = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const t of slow.sort((a, b) => a - b)) {
    if (t - last > 20) stalls++;
    last = t;
  }
  return {
    rate,
    messages: offered,
    messagesPerSecond: offered / wall,
    p50: quantile(latencies, 0.5),
    p90: quantile(latencies, 0.9),
    p99: quantile(latencies, 0.99),
    p999: quantile(latencies, 0.999),
    max: latencies[latencies.length - 1],
    slowSends: slow.length,
    stallsPerSecond: stalls / wall,
    cpuUs: cpu,
  };
}

async function saturation() {
  const inFlight = 512;
  const cpu0 = threadCpu();
  const start = performance.now();
  const end = start + seconds * 1000;
  let done = 0;
  const lane = async () => {
    while (performance.now() < end) {
      await send();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const wall = (performance.now() - start) / 1000;
  return {
    inFlight,
    messages: done,
    messagesPerSecond: done / wall,
    cpuUs: cpuPerMessage(cpu0, threadCpu(), done),
  };
}

try {
  const fixed = await fixedRate();
  const saturated = await saturation();
  process.stdout.write(`${JSON.stringify({ durability, fixed, saturated })}\n`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
