// The realtime client of every screen: one websocket speaking protocol version 2
// (docs/realtime.md), for the tablets (static/pos/js/live.js) and the kitchen screens
// (static/kds/js/core.js). This file is the protocol; what a screen does with what it hears
// (apply events, or refetch a snapshot) is its own. No build step: a plain ES module.
//
//   server -> {"type": "hello", "seq": n, "v": 2}
//   server -> {"type": "events", "after": a, "seq": s, "events": [{seq, type, data}, ...]}
//             (every event of the socket's audience with a < seq <= s: the server skips what
//             the screen does not draw and fills holes itself, so a socket loses nothing)
//   server -> {"type": "resync", "seq": s}       (too far behind: take a snapshot)
//   client -> {"type": "catchup", "after": n}  server -> {"type": "catchup", events, seq, complete}
//   client -> {"type": "ping", "id": k}        server -> {"type": "pong", "id": k, "seq": s}
//
// Heartbeat: a ping every 10 s; no pong within 5 s and the connection is dead (wifi that drops
// silently leaves a socket that looks open for minutes): drop it and reconnect. Reconnects back
// off 0.3, 1, 2, 4, 8, then 10 s, each ±20%. Close codes 4401 (not signed in / not paired) and
// 4403 (the device was revoked) are final: no reconnect, the screen signs in or pairs again.

export const PROTOCOL_VERSION = 2;
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_REVOKED = 4403;
export const PING_EVERY_MS = 10000;
export const PONG_TIMEOUT_MS = 5000;
export const BACKOFF_MS = [300, 1000, 2000, 4000, 8000, 10000];
const DROPPED = 4000; // the code we close a socket with that we gave up on

/** The wait before reconnect attempt number `attempt` (0-based): backoff with ±20% jitter. */
export function backoffMs(attempt) {
  const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
  return base * (0.8 + Math.random() * 0.4);
}

/** ws:// or wss:// for a path of this site. */
export function socketUrl(path) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}

/** An `events` frame says what it covers: `after` < seq <= `seq`. */
export function isFrame(message) {
  return !!message && typeof message.seq === "number" && typeof message.after === "number";
}

/**
 * One screen's websocket: connect, heartbeat, reconnect, close codes, message decoding.
 *
 * handlers (each optional):
 *   hello(message, { first })  the socket is live; `first`: the first hello of this page
 *   events(frame)              an `events` frame (checked with isFrame)
 *   pong(message)              a pong (its `seq`: the socket has sent everything up to it)
 *   catchup(message)           the answer to send({type: "catchup", after})
 *   resync(message)            too far behind for the socket: take a snapshot
 *   down({ attempt, code })    the connection is gone; a reconnect is scheduled
 *   refused(code)              closed with 4401 or 4403: final, nothing reconnects
 */
export class FeedSocket {
  constructor(path, handlers = {}) {
    this.path = path;
    this.handlers = handlers;
    this.ws = null;
    this.wanted = false;
    this.attempt = 0; // reconnects since the last hello
    this.hellos = 0;
    this.pingId = 0;
    this.timers = {};
  }

  start() {
    this.wanted = true;
    if (!this.ws) this.connect();
  }

  /** Close for good (sign-out, lock): nothing reconnects until start(). */
  stop() {
    this.wanted = false;
    clearTimeout(this.timers.reconnect);
    this.drop(1000);
  }

  get live() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    this.wanted = true;
    let ws;
    try {
      ws = new WebSocket(socketUrl(this.path));
    } catch (_e) {
      this.reconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.timers.ping = setInterval(() => this.ping(), PING_EVERY_MS);
    };
    ws.onmessage = (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (_e) {
        return;
      }
      if (data && typeof data === "object") this.receive(data);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.drop();
      if (event.code === CLOSE_UNAUTHORIZED || event.code === CLOSE_REVOKED) {
        this.wanted = false;
        clearTimeout(this.timers.reconnect);
        this.handlers.refused?.(event.code);
        return;
      }
      if (this.wanted) this.reconnect(event.code);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  /** Forget the current socket at once (dead, or given up on); schedules nothing. */
  drop(code = DROPPED) {
    const ws = this.ws;
    this.ws = null;
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pong);
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = ws.onerror = null;
      try {
        ws.close(code);
      } catch (_e) {
        /* already closed */
      }
    }
  }

  /** Connect again after the backoff (the screen says "reconnecting" meanwhile). */
  reconnect(code = null) {
    const attempt = this.attempt;
    this.attempt += 1;
    clearTimeout(this.timers.reconnect);
    this.timers.reconnect = setTimeout(() => {
      if (this.wanted && !this.ws) this.connect();
    }, backoffMs(attempt));
    this.handlers.down?.({ attempt: this.attempt, code });
  }

  /** The tablet woke up or the wifi came back: try now instead of waiting out the backoff. */
  nudge() {
    if (!this.wanted) return;
    if (!this.ws) {
      clearTimeout(this.timers.reconnect);
      this.connect();
    } else if (this.live) {
      this.ping();
    }
  }

  send(message) {
    if (!this.live) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  ping() {
    if (!this.send({ type: "ping", id: ++this.pingId })) return;
    clearTimeout(this.timers.pong);
    this.timers.pong = setTimeout(() => {
      // No pong: dead even if the socket does not know it yet (wifi gone, proxy stuck).
      this.drop();
      if (this.wanted) this.reconnect();
    }, PONG_TIMEOUT_MS);
  }

  receive(message) {
    const on = this.handlers;
    switch (message.type) {
      case "hello":
        this.attempt = 0;
        this.hellos += 1;
        on.hello?.(message, { first: this.hellos === 1 });
        break;
      case "pong":
        clearTimeout(this.timers.pong);
        on.pong?.(message);
        break;
      case "events":
        if (isFrame(message)) on.events?.(message);
        break;
      case "catchup":
        on.catchup?.(message);
        break;
      case "resync":
        on.resync?.(message);
        break;
      default:
        break; // unknown types are ignored: fields and messages may be added
    }
  }
}
