// A strict DER reader: definite, minimal lengths only, no trailing bytes. Seals and certificates come from
// anywhere, so every read is bounded by its parent and anything else throws DerError.

export class DerError extends Error {
  /** `notDer`: valid BER that DER forbids (an indefinite or non-minimal length), not a broken structure. */
  constructor(message, { notDer = false } = {}) {
    super(message);
    this.notDer = notDer;
  }
}

/**
 * One TLV: `tag` (the identifier octet; multi-octet tags are refused, none of ours use them), `start` (of the
 * header), `body` (start of the content), `end`, `der` (the whole encoding), `content` (the content bytes).
 */
export class Node {
  constructor(buf, tag, start, body, end) {
    Object.assign(this, { buf, tag, start, body, end });
  }

  get der() { return this.buf.subarray(this.start, this.end); }
  get content() { return this.buf.subarray(this.body, this.end); }
  get constructed() { return (this.tag & 0x20) !== 0; }

  /** The children of a constructed node (cached). */
  get children() {
    if (!this._children) {
      if (!this.constructed) throw new DerError(`tag 0x${this.tag.toString(16)} is not constructed`);
      this._children = readAll(this.buf, this.body, this.end);
    }
    return this._children;
  }

  child(i, tag) {
    const c = this.children[i];
    if (!c) throw new DerError(`element ${i} is missing`);
    if (tag !== undefined && c.tag !== tag) {
      throw new DerError(`element ${i} has tag 0x${c.tag.toString(16)}, expected 0x${tag.toString(16)}`);
    }
    return c;
  }
}

function readOne(buf, at, limit) {
  if (at + 2 > limit) throw new DerError('truncated header');
  const tag = buf[at];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-octet tags are not used here');
  let len = buf[at + 1];
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('indefinite length (BER, not DER)', { notDer: true });
    if (n > 4 || body + n > limit) throw new DerError('length too long');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i];
    if (buf[body] === 0 || len < 0x80) throw new DerError('non-minimal length (BER, not DER)', { notDer: true });
    body += n;
  }
  const end = body + len;
  if (end > limit) throw new DerError('content runs past its parent');
  return new Node(buf, tag, at, body, end);
}

function readAll(buf, start, end) {
  const out = [];
  for (let at = start; at < end;) {
    const node = readOne(buf, at, end);
    out.push(node);
    at = node.end;
  }
  return out;
}

/** The one DER element `bytes` holds (nothing after it), children checked recursively on access. */
export function parseDer(bytes) {
  const node = readOne(bytes, 0, bytes.length);
  if (node.end !== bytes.length) throw new DerError('bytes after the DER element');
  checkDeep(node);
  return node;
}

/** Every element read, and the values DER encodes one way only (BOOLEAN, INTEGER, BIT STRING) in that way. */
function checkDeep(node) {
  if (node.constructed) {
    for (const c of node.children) checkDeep(c);
    return;
  }
  const b = node.content;
  const ber = (what) => new DerError(`${what} (BER, not DER)`, { notDer: true });
  if (node.tag === 0x01 && (b.length !== 1 || (b[0] !== 0 && b[0] !== 0xff))) throw ber('a BOOLEAN not 00 or FF');
  if (node.tag === 0x02 && b.length > 1 && ((b[0] === 0 && !(b[1] & 0x80)) || (b[0] === 0xff && b[1] & 0x80))) {
    throw ber('a non-minimal INTEGER');
  }
  if (node.tag === 0x03 && (!b.length || b[0] > 7 || (b.length === 1 && b[0] !== 0))) throw ber('a BIT STRING with bad padding');
}

export function oid(node) {
  if (node.tag !== 0x06) throw new DerError('not an OBJECT IDENTIFIER');
  const b = node.content;
  const parts = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) { parts.push(v); v = 0; }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

export function integer(node) {
  if (node.tag !== 0x02 || node.content.length === 0) throw new DerError('not an INTEGER');
  const b = node.content;
  if (b.length > 1 && ((b[0] === 0 && !(b[1] & 0x80)) || (b[0] === 0xff && b[1] & 0x80))) {
    throw new DerError('non-minimal INTEGER');
  }
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  if (b[0] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v;
}

/** The bytes of a BIT STRING with no unused bits. */
export function bitString(node) {
  if (node.tag !== 0x03 || node.content.length === 0 || node.content[0] !== 0) {
    throw new DerError('not a BIT STRING of whole bytes');
  }
  return node.content.subarray(1);
}

export function text(node) {
  const b = node.content;
  if (node.tag === 0x1e) {  // BMPString, UTF-16BE
    let s = '';
    for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode((b[i] << 8) | b[i + 1]);
    return s;
  }
  if (![0x0c, 0x13, 0x16, 0x14].includes(node.tag)) throw new DerError('not a string');
  return new TextDecoder('utf-8', { fatal: true }).decode(b);
}

const UTC_TIME = /^[0-9]{12}Z$/;
const GENERALIZED_TIME = /^[0-9]{14}Z$/;

/** UTCTime or GeneralizedTime to the second, as Unix seconds (what seals and certificates carry here). */
export function time(node) {
  const s = new TextDecoder().decode(node.content);
  let year, rest;
  if (node.tag === 0x17 && UTC_TIME.test(s)) {
    year = Number(s.slice(0, 2));
    year += year < 50 ? 2000 : 1900;
    rest = s.slice(2);
  } else if (node.tag === 0x18 && GENERALIZED_TIME.test(s)) {
    year = Number(s.slice(0, 4));
    rest = s.slice(4);
  } else {
    throw new DerError('not a UTC time to the second');
  }
  const [mo, d, h, mi, se] = [0, 2, 4, 6, 8].map((i) => Number(rest.slice(i, i + 2)));
  const t = Date.UTC(year, mo - 1, d, h, mi, se);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) {
    throw new DerError(`${s} is not a date`);
  }
  return t / 1000;
}
