// A scriptable SMTP server for the e-mail tests, built on the npm smtp-server package (the one maildev uses).
// Usage: node smtp-test-server.mjs '<json config>'. It listens on 127.0.0.1 (port 0 = any free port) and reports on
// stdout, one JSON object a line: {"event":"listening","port":N} first, then connect/command/chunk/auth/message/close.
//
// Config: port, implicitTls, startTls (offer STARTTLS), key/cert (PEM file paths; smtp-server's built-in pair if
// absent), users ({name: password}; AUTH is disabled without), authMethods, hidePipelining, hideEnhancedStatusCodes,
// disabledCommands (e.g. ["EHLO"], answered 500), socketTimeout (ms),
// slowMs, sink (accept and discard everything, report nothing but "listening": for benchmarks).
//
// Faults are chosen by the recipient's local part: reject… → RCPT 550, busy… → RCPT 451, close… → RCPT 421 (and the
// server closes), slow… → RCPT and the end of data each answered after slowMs, drop… → the connection is destroyed mid-DATA,
// tempfail… → 451 after the data.
import fs from 'node:fs';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const config = JSON.parse(process.argv[2] ?? '{}');
const sink = !!config.sink;
const emit = sink ? () => {} : event => process.stdout.write(JSON.stringify(event) + '\n');
let queued = 0;

const VERBS = new Set(['HELO', 'EHLO', 'LHLO', 'STARTTLS', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'NOOP', 'QUIT', 'VRFY', 'EXPN', 'HELP']);
if (!sink) {
  // Every command line as the server parsed it (credentials redacted), to assert on the conversation.
  const onCommand = SMTPConnection.prototype._onCommand;
  SMTPConnection.prototype._onCommand = function (command, callback) {
    const line = (command || '').toString();
    let verb = line.split(' ').shift().toUpperCase();
    if (!VERBS.has(verb)) verb = '(sasl)'; // an AUTH continuation: credentials, not shown
    emit({ event: 'command', id: this.id, verb, line: verb === 'AUTH' ? 'AUTH ' + line.split(' ')[1] : verb === '(sasl)' ? '' : line.slice(0, 200) });
    return onCommand.call(this, command, callback);
  };
}

const errorWith = (code, message) => Object.assign(new Error(message), { responseCode: code });
const local = address => address.split('@')[0].toLowerCase();

const server = new SMTPServer({
  secure: !!config.implicitTls,
  key: config.key ? fs.readFileSync(config.key) : undefined,
  cert: config.cert ? fs.readFileSync(config.cert) : undefined,
  hideSTARTTLS: !config.startTls,
  hidePIPELINING: !!config.hidePipelining,
  hideENHANCEDSTATUSCODES: !!config.hideEnhancedStatusCodes,
  disabledCommands: [...(config.users ? [] : ['AUTH']), ...(config.disabledCommands ?? [])],
  authMethods: config.authMethods ?? ['PLAIN', 'LOGIN'],
  authOptional: !config.users,
  socketTimeout: config.socketTimeout ?? 60_000,
  banner: 'chuda test server',
  disableReverseLookup: true,
  logger: false,
  onConnect(session, callback) {
    emit({ event: 'connect', id: session.id });
    if (!sink) {
      const connection = [...server.connections].find(c => c.id === session.id);
      connection?._socket?.on('data', chunk => {
        const text = chunk.toString('latin1');
        if (/^(RSET|MAIL FROM)/im.test(text)) emit({ event: 'chunk', id: session.id, text: text.slice(0, 400) });
      });
    }
    callback();
  },
  onClose(session) {
    emit({ event: 'close', id: session.id });
  },
  onAuth(auth, session, callback) {
    const ok = config.users && Object.hasOwn(config.users, auth.username) && config.users[auth.username] === auth.password;
    emit({ event: 'auth', id: session.id, method: auth.method, user: auth.username, ok: !!ok, secure: !!session.secure });
    if (!ok) return callback(errorWith(535, 'Invalid username or password'));
    callback(null, { user: auth.username });
  },
  onRcptTo(address, session, callback) {
    const name = local(address.address);
    if (name.startsWith('reject')) return callback(errorWith(550, 'No such user here'));
    if (name.startsWith('busy')) return callback(errorWith(451, 'Try again later'));
    if (name.startsWith('close')) return callback(errorWith(421, 'Closing, too busy'));
    if (name.startsWith('slow')) return setTimeout(() => callback(), config.slowMs ?? 5000);
    callback();
  },
  onData(stream, session, callback) {
    const to = session.envelope.rcptTo.map(r => r.address);
    let dropped = false;
    if (to.some(a => local(a).startsWith('drop'))) {
      stream.once('data', () => {
        dropped = true;
        emit({ event: 'dropped', id: session.id });
        [...server.connections].find(c => c.id === session.id)?._socket?.destroy();
      });
    }
    let size = 0;
    stream.on('data', chunk => { size += chunk.length; });
    stream.on('end', () => {
      if (dropped) return;
      if (to.some(a => local(a).startsWith('tempfail'))) return callback(errorWith(451, 'Local error in processing'));
      if (to.some(a => local(a).startsWith('slow'))) return setTimeout(() => accept(), config.slowMs ?? 5000);
      accept();
    });
    const accept = () => {
      queued++;
      emit({
        event: 'message', id: session.id, transaction: session.transaction, from: session.envelope.mailFrom.address,
        to, size, user: session.user ?? null, secure: !!session.secure, queueId: 'Q' + queued,
      });
      callback(null, 'Ok: queued as Q' + queued);
    };
  },
});

server.on('error', error => process.stderr.write(String(error?.stack ?? error) + '\n'));
server.listen(config.port ?? 0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ event: 'listening', port: server.server.address().port }) + '\n');
});
