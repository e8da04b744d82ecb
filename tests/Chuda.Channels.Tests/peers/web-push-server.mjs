// The web-push-testing 1.2.2 push service (a mock of a browser vendor's push service that decrypts what it receives), on
// 127.0.0.1 and a free port. The package's CLI listens on every interface and its `main` points at a missing file, so its
// server and model are assembled here. Prints {"event":"listening","port":N} on stdout once it accepts requests.
// Every call is a POST: /subscribe {applicationServerKey, userVisibleOnly: "true"} → {data: subscription + clientHash};
// /notify/<clientHash> (the endpoint) → 201; /get-notifications {clientHash} → {data: {messages: [decrypted payloads]}};
// /expire-subscription/<clientHash> → later pushes answer 410.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const WebPushTestingServer = require('web-push-testing/src/server.js');
const { PushApiModel } = require('web-push-testing/src/PushApiModel.js');

const model = new PushApiModel();
const server = new WebPushTestingServer(model, 0);
const listener = server._app.listen(0, '127.0.0.1', () => {
  const { port } = listener.address();
  model.notifyUrl = `http://127.0.0.1:${port}/notify/`;
  process.stdout.write(JSON.stringify({ event: 'listening', port }) + '\n');
});
listener.on('error', err => {
  process.stderr.write(String(err) + '\n');
  process.exit(1);
});
server.setRequestHandlers();
// The model logs failed VAPID checks with console.error: keep stdout for events only.
console.log = (...args) => process.stderr.write(args.join(' ') + '\n');
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
