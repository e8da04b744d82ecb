// Verifies a received webhook with the reference Standard Webhooks library (npm "standardwebhooks").
// Reads {"secret": "whsec_…", "headers": {name: value}, "body": "<base64 of the raw body>"} on stdin.
// Exits 0 when the signature verifies, 1 when it does not (the reason on stderr), 2 on bad input.
import { Webhook } from 'standardwebhooks';

let input = '';
for await (const chunk of process.stdin) input += chunk;
let request;
try {
  request = JSON.parse(input);
} catch (err) {
  console.error('bad input: ' + err.message);
  process.exit(2);
}

try {
  new Webhook(request.secret).verify(Buffer.from(request.body, 'base64'), request.headers);
  console.log('verified');
} catch (err) {
  console.error(`${err.name}: ${err.message}`);
  process.exit(1);
}
