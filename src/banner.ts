/** What `serve` prints for a person: where it listens, and on first start the app and a ready snippet. */
import type { AppCredentials } from './apps/service.js';

export function firstStartBanner(app: AppCredentials, baseUrl: string): string {
  return `
nimbase created your first app. Keep the AppSecret private; it is shown only now
(\`nimbase app list --secrets\` shows it again).

  AppKey:    ${app.appKey}
  AppSecret: ${app.appSecret}

Register an account (paste into a shell; Nonce, CurTime and CheckSum are computed at run time):

  APPKEY=${app.appKey}
  APPSECRET=${app.appSecret}
  NONCE=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n')
  CURTIME=$(date +%s)
  CHECKSUM=$(printf '%s' "$APPSECRET$NONCE$CURTIME" | sha1sum | cut -d' ' -f1)
  curl -s -X POST ${baseUrl}/nimserver/user/create.action \\
    -H "AppKey: $APPKEY" -H "Nonce: $NONCE" -H "CurTime: $CURTIME" -H "CheckSum: $CHECKSUM" \\
    -H 'Content-Type: application/x-www-form-urlencoded;charset=utf-8' \\
    -d 'accid=zhangsan&name=Zhang%20San'

Or let nimbase sign it for you:  node dist/cli.js call user/create.action accid=lisi name=Li
`;
}

export function listeningLine(baseUrl: string, database: string): string {
  return `nimbase listening on ${baseUrl} (database: ${database}); server API base URL: ${baseUrl}/nimserver`;
}
