// A scripted SMSC for the SMPP client tests, on the npm `smpp` package (0.5.1), listening on 127.0.0.1.
//
//   node smpp-server.mjs '{"port":0,"systemId":"chuda","password":"secret"}'
//
// Settings (all optional): port (0 = any free port), systemId / password (the only credentials bound), quiet (no line per
// submit_sm, for benchmarks), responseDelayMs (answer each submit_sm this much later), idleTimeoutMs (close a session
// that sent nothing for this long), serverEnquireMs (send our own enquire_link this often), moFrom (the number inbound
// messages come from, default 8613700000077), ignoreEnquireLink (leave the client's enquire_link unanswered).
//
// The first stdout line is {"event":"listening","port":N}; then one JSON line per event: bind, submit (data_coding,
// esm_class, udh hex, concatenation ref/total/seq, decoded text, message id, in-flight count, arrival time in ms), message (a reassembled
// multipart text), enquire_link, enquire_link_resp, unbind, unbind_resp, deliver_sm_resp, idle-close, close (with the session's submit_sm count).
//
// Faults, chosen by destination_addr:
//   8613900000058  ESME_RTHROTTLED        8613900000014  ESME_RMSGQFUL
//   8613900000011  ESME_RINVDSTADR        8613900000008  ESME_RSYSERR
//   8613900000099  the link is destroyed (no answer)       8613900000098  never answered
//   8613900000033  accepted, then a receipt with stat:UNDELIV (message_state 5)
//   8613900000077  accepted, then an inbound deliver_sm from moFrom carrying the submitted text
//   8613900000078  accepted, then the submitted text comes back as a two-part UCS-2 inbound message (split at the middle
//                  octet pair, even inside a surrogate pair; part 2 sent first)
//   8613900000066  accepted, then the SMSC unbinds the session (and closes it on unbind_resp)
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const smpp = require('smpp');

const config = JSON.parse(process.argv[2] ?? '{}');
const systemId = config.systemId ?? 'chuda';
const password = config.password ?? 'secret';
const moFrom = config.moFrom ?? '8613700000077';
const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');

let nextSession = 0;
let nextId = 0x10000 + Math.floor(Math.random() * 0x10000);
const assembling = new Map();

const pad = (n) => String(n).padStart(2, '0');
const smppDate = (d) => `${pad(d.getUTCFullYear() % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`;

const server = smpp.createServer((session) => {
  const sessionId = ++nextSession;
  // Without TCP_NODELAY, answers written one by one wait for the client's delayed ACK (40 ms on Linux).
  session.socket.setNoDelay(true);
  let bound = false;
  let inFlight = 0;
  let submits = 0;
  let idleTimer = null;
  let enquireTimer = null;
  const touch = () => {
    if (!config.idleTimeoutMs) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      emit({ event: 'idle-close', session: sessionId });
      session.close();
    }, config.idleTimeoutMs);
  };
  touch();
  session.on('error', (e) => emit({ event: 'error', session: sessionId, message: String(e?.message ?? e) }));
  session.on('close', () => {
    clearTimeout(idleTimer);
    clearInterval(enquireTimer);
    emit({ event: 'close', session: sessionId, submits });
  });
  session.on('pdu', touch);

  session.on('bind_transceiver', (pdu) => {
    let status = smpp.ESME_ROK;
    if (pdu.system_id !== systemId) status = smpp.ESME_RINVSYSID;
    else if (pdu.password !== password) status = smpp.ESME_RINVPASWD;
    emit({ event: 'bind', session: sessionId, systemId: pdu.system_id, systemType: pdu.system_type, ok: status === 0, status });
    if (status !== 0) {
      session.send(pdu.response({ command_status: status }));
      session.close();
      return;
    }
    bound = true;
    session.send(pdu.response({ system_id: 'scripted-smsc' }));
    if (config.serverEnquireMs) {
      enquireTimer = setInterval(() => {
        session.enquire_link({}, () => emit({ event: 'enquire_link_resp', session: sessionId }));
      }, config.serverEnquireMs);
    }
  });

  session.on('enquire_link', (pdu) => {
    emit({ event: 'enquire_link', session: sessionId });
    if (!config.ignoreEnquireLink) session.send(pdu.response());
  });

  session.on('unbind', (pdu) => {
    emit({ event: 'unbind', session: sessionId });
    session.send(pdu.response());
    session.close();
  });

  session.on('submit_sm', (pdu) => {
    if (!bound) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
      return;
    }
    inFlight++;
    submits++;
    const dest = pdu.destination_addr;
    const sm = pdu.short_message ?? {};
    const text = typeof sm === 'string' ? sm : typeof sm.message === 'string' ? sm.message : Buffer.from(sm.message ?? []).toString('hex');
    const udh = (sm.udh ?? []).map((b) => Buffer.from(b).toString('hex'));
    const concat = (sm.udh ?? []).map((b) => Buffer.from(b)).find((b) => b[0] === 0x00 && b[1] === 3);
    const messageId = (++nextId).toString(16);
    const submit = {
      event: 'submit', session: sessionId, seq: pdu.sequence_number, source: pdu.source_addr, sourceTon: pdu.source_addr_ton,
      sourceNpi: pdu.source_addr_npi, dest, destTon: pdu.dest_addr_ton, destNpi: pdu.dest_addr_npi, dataCoding: pdu.data_coding,
      esmClass: pdu.esm_class, registeredDelivery: pdu.registered_delivery, udh, text, messageId, inFlight,
      ref: concat?.[2], total: concat?.[3], part: concat?.[4], at: performance.now(),
    };
    if (!config.quiet) emit(submit);

    if (dest === '8613900000099') {
      session.destroy();
      return;
    }
    if (dest === '8613900000098') return;

    const status = { '8613900000058': smpp.ESME_RTHROTTLED, '8613900000014': smpp.ESME_RMSGQFUL, '8613900000011': smpp.ESME_RINVDSTADR, '8613900000008': smpp.ESME_RSYSERR }[dest] ?? smpp.ESME_ROK;
    const answer = () => {
      inFlight--;
      if (status !== smpp.ESME_ROK) {
        session.send(pdu.response({ command_status: status }));
        return;
      }
      session.send(pdu.response({ message_id: messageId }));
      if (concat) assemble(submit);
      if (pdu.registered_delivery & 1) sendReceipt(pdu, messageId, text, dest === '8613900000033');
      if (dest === '8613900000077') sendInbound(pdu, text);
      if (dest === '8613900000078') sendInboundInTwoParts(pdu, text);
      if (dest === '8613900000066') {
        session.unbind({}, () => {
          emit({ event: 'unbind_resp', session: sessionId });
          session.close();
        });
      }
    };
    if (config.responseDelayMs) setTimeout(answer, config.responseDelayMs);
    else answer();
  });

  function sendReceipt(pdu, messageId, text, failed) {
    const now = smppDate(new Date());
    const stat = failed ? 'UNDELIV' : 'DELIVRD';
    const body = `id:${messageId} sub:001 dlvrd:${failed ? '000' : '001'} submit date:${now} done date:${now} stat:${stat} err:${failed ? '001' : '000'} text:${String(text).slice(0, 20)}`;
    session.deliver_sm({
      source_addr_ton: pdu.dest_addr_ton, source_addr_npi: pdu.dest_addr_npi, source_addr: pdu.destination_addr,
      dest_addr_ton: pdu.source_addr_ton, dest_addr_npi: pdu.source_addr_npi, destination_addr: pdu.source_addr,
      esm_class: 0x04, data_coding: 0, short_message: Buffer.from(body, 'ascii'),
      receipted_message_id: messageId, message_state: failed ? 5 : 2,
    }, (resp) => emit({ event: 'deliver_sm_resp', session: sessionId, kind: 'receipt', messageId, status: resp.command_status }));
  }

  function sendInbound(pdu, text) {
    const gsm = smpp.encodings.ASCII.match(text);
    session.deliver_sm({
      source_addr_ton: 1, source_addr_npi: 1, source_addr: moFrom,
      dest_addr_ton: pdu.source_addr_ton, dest_addr_npi: pdu.source_addr_npi, destination_addr: pdu.source_addr,
      esm_class: 0, data_coding: gsm ? 0 : 8,
      short_message: gsm ? smpp.encodings.ASCII.encode(text) : Buffer.from(text, 'utf16le').swap16(),
    }, (resp) => emit({ event: 'deliver_sm_resp', session: sessionId, kind: 'inbound', text, status: resp.command_status }));
  }

  function sendInboundInTwoParts(pdu, text) {
    const octets = Buffer.from(text, 'utf16le').swap16();
    const middle = Math.floor(octets.length / 4) * 2;
    const parts = [octets.subarray(0, middle), octets.subarray(middle)];
    for (const seq of [2, 1]) {
      session.deliver_sm({
        source_addr_ton: 1, source_addr_npi: 1, source_addr: moFrom,
        dest_addr_ton: pdu.source_addr_ton, dest_addr_npi: pdu.source_addr_npi, destination_addr: pdu.source_addr,
        esm_class: 0x40, data_coding: 8, short_message: Buffer.concat([Buffer.from([5, 0, 3, 0x42, 2, seq]), parts[seq - 1]]),
      }, (resp) => emit({ event: 'deliver_sm_resp', session: sessionId, kind: 'inbound-part', seq, status: resp.command_status }));
    }
  }
});

function assemble(submit) {
  const key = `${submit.source}|${submit.dest}|${submit.ref}|${submit.total}`;
  const parts = assembling.get(key) ?? new Map();
  parts.set(submit.part, submit);
  assembling.set(key, parts);
  if (parts.size < submit.total) return;
  assembling.delete(key);
  const ordered = [...parts.keys()].sort((a, b) => a - b).map((k) => parts.get(k));
  emit({
    event: 'message', dest: submit.dest, ref: submit.ref, total: submit.total, dataCoding: submit.dataCoding,
    text: ordered.map((p) => p.text).join(''), messageIds: ordered.map((p) => p.messageId),
  });
}

server.on('error', (e) => {
  process.stderr.write(`server error: ${e?.message ?? e}\n`);
  process.exit(1);
});
server.listen(config.port ?? 0, '127.0.0.1', () => emit({ event: 'listening', port: server.address().port }));
