/**
 * The full path with the official web SDK: register two accounts through the server API, log both
 * in with `@yxim/nim-web-sdk` pointed at nimbase, send a message from one to the other.
 *
 *   nimbase serve                          # prints the AppKey and AppSecret on first start
 *   NIMBASE_URL=http://127.0.0.1:8080 NIMBASE_APPKEY=… NIMBASE_APPSECRET=… npx tsx examples/sdk-chat.ts
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { signedCall } from '../src/client/server-api.js';

const require = createRequire(import.meta.url);
const NIM = require('@yxim/nim-web-sdk/dist/SDK/NIM_Web_NIM_nodejs.js');

const baseUrl = process.env.NIMBASE_URL ?? 'http://127.0.0.1:8080';
const appKey = process.env.NIMBASE_APPKEY ?? '';
const appSecret = process.env.NIMBASE_APPSECRET ?? '';
if (!appKey || !appSecret) {
  console.error('set NIMBASE_APPKEY and NIMBASE_APPSECRET (printed by `nimbase serve` on first start)');
  process.exit(2);
}

/** Your app server's job: create the IM account and hand its token to the client. */
async function register(accid: string): Promise<string> {
  const token = randomBytes(16).toString('hex');
  const text = await signedCall({
    baseUrl,
    appKey,
    appSecret,
    path: 'user/create.action',
    params: [
      ['accid', accid],
      ['token', token],
      ['name', accid.split('-')[0]!],
    ],
  });
  const body = JSON.parse(text) as { code: number; desc?: string };
  if (body.code !== 200) throw new Error(`create ${accid}: ${text}`);
  return token;
}

/** The client's job: log in with the SDK, pointed at nimbase (docs/client-sdk.md). */
function login(account: string, token: string, onmsg: (msg: { from: string; text: string }) => void) {
  const host = new URL(baseUrl).host;
  return new Promise<{ sendText: (o: object) => void; destroy: (o: object) => void }>((resolve, reject) => {
    const nim = NIM.getInstance({
      appKey,
      account,
      token,
      db: false,
      debug: false,
      defaultLink: host,
      privateConf: {
        lbs_web: `${baseUrl}/lbs/webconf.jsp`,
        link_web: host,
        link_ssl_web: baseUrl.startsWith('https'),
        isDataReportEnable: false,
        isABTestEnable: false,
        isMixStoreEnable: false,
      },
      onsyncdone: () => resolve(nim),
      ondisconnect: (e: unknown) => reject(new Error(`${account} disconnected: ${JSON.stringify(e)}`)),
      onmsg,
    });
  });
}

const suffix = randomBytes(3).toString('hex');
const alice = `alice-${suffix}`;
const bob = `bob-${suffix}`;
const [aliceToken, bobToken] = [await register(alice), await register(bob)];
console.log(`registered ${alice} and ${bob}`);

let onBobMessage: (m: { from: string; text: string }) => void = () => {};
const received = new Promise<{ from: string; text: string }>((resolve) => {
  onBobMessage = resolve;
});
const bobNim = await login(bob, bobToken, (m) => onBobMessage(m));
const aliceNim = await login(alice, aliceToken, () => {});
console.log('both logged in');

aliceNim.sendText({
  scene: 'p2p',
  to: bob,
  text: `hello ${bob}`,
  done: (err: unknown, msg: { idServer: string }) =>
    console.log(err ? `send failed: ${JSON.stringify(err)}` : `sent, server id ${msg.idServer}`),
});
const msg = await Promise.race([
  received,
  new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no message within 10 s')), 10_000)),
]);
console.log(`${bob} received from ${msg.from}: ${msg.text}`);

aliceNim.destroy({});
bobNim.destroy({});
setTimeout(() => process.exit(0), 200);
