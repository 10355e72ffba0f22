// The ceiling every benchmark run is compared with: a bare node:http server that reads the same
// form body, parses it with nimbase's own form parser and answers a fixed CommsEase JSON body.
// No signature check, no store, no framework. Prints `listening <port>` when ready.
import { createServer } from 'node:http';
import { parseForm } from '../dist/api/form.js';

const BODY = JSON.stringify({
  code: 200,
  info: { token: '0123456789abcdef0123456789abcdef', accid: 'a', name: '' },
});
const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    parseForm(body);
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': BODY.length });
    res.end(BODY);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
