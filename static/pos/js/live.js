// The tablet websocket (/ws/pos/): the tablet's events, heartbeat, reconnect with backoff.
// The database is the truth; this only wakes the screens up (docs/realtime.md, protocol v2).
//
//   server -> {"type": "hello", "seq": n}
//   server -> {"type": "events", "after": a, "seq": s, "events": [{seq, type, data}, ...]}
//             (every event of ours with a < seq <= s: the server skips what tablets do not
//             draw and fills holes itself; a socket loses nothing, a new one catches up)
//   server -> {"type": "resync", "seq": s}       (too much missed: take new snapshots)
//   client -> {"type": "catchup", "after": n}  server -> {"type": "catchup", events, seq, complete}
//   client -> {"type": "ping", "id": k}        server -> {"type": "pong", "id": k, "seq": s}

import { config } from "./util.js";

const PING_EVERY_MS = 15000;
const PONG_TIMEOUT_MS = 8000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];
const BANNER_AFTER_MS = 1200;

export class Live {
  /**
   * onEvent(event): apply one event (called in seq order, each once).
   * onResync(): the client missed more than a catch-up can give: refetch every snapshot;
   *   resolves to the seq the new snapshots are at.
   * onState(state): "live" | "reconnecting" | "offline".
   * onUnauthorized(): the server closed with 4401 (not signed in any more).
   */
  constructor({ onEvent, onResync, onState, onUnauthorized, onRetrying = () => {} }) {
    Object.assign(this, { onEvent, onResync, onState, onUnauthorized, onRetrying });
    this.lastSeq = null;
    this.ws = null;
    this.attempt = 0;
    this.wanted = false;
    this.buffer = new Map(); // seq -> frame, received ahead of a catch-up
    this.catchingUp = false;
    this.pingId = 0;
    this.timers = {};
  }

  /** The seq of the snapshots the screens show now; later events apply on top. */
  setSeq(seq) {
    if (typeof seq === "number" && (this.lastSeq === null || seq > this.lastSeq)) {
      this.lastSeq = seq;
      for (const s of [...this.buffer.keys()]) if (s <= seq) this.buffer.delete(s);
    }
  }


  start() {
    this.wanted = true;
    if (!this.ws) this.connect();
  }

  stop() {
    this.wanted = false;
    this.clearTimers();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close(1000);
    }
    this.onState("offline");
  }

  connect() {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + config.ws;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (_e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      clearTimeout(this.timers.banner);
      this.onState("live");
      this.timers.ping = setInterval(() => this.ping(), PING_EVERY_MS);
    };
    ws.onmessage = (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (_e) {
        return;
      }
      this.receive(data);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearTimers();
      if (event.code === 4401 || event.code === 4403) {
        this.wanted = false;
        this.onState("offline");
        this.onUnauthorized();
        return;
      }
      if (this.wanted) this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  /** The tablet woke up or the wifi came back: try now instead of waiting out the backoff. */
  nudge() {
    if (!this.wanted) return;
    if (!this.ws) {
      clearTimeout(this.timers.reconnect);
      this.connect();
    } else if (this.ws.readyState === WebSocket.OPEN) {
      this.ping();
    }
  }

  scheduleReconnect() {
    const wait = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    // A refused handshake looks like any network failure to the browser (code 1006): after
    // a couple of tries, ask over HTTP whether we are still signed in at all.
    if (this.attempt === 2 || this.attempt % 5 === 0) this.onRetrying(this.attempt);
    // A blip (a deploy, a wifi hand-over) reconnects before anyone needs to see a banner.
    clearTimeout(this.timers.banner);
    this.timers.banner = setTimeout(() => this.onState("reconnecting"), this.attempt > 1 ? 0 : BANNER_AFTER_MS);
    clearTimeout(this.timers.reconnect);
    this.timers.reconnect = setTimeout(() => {
      if (this.wanted && !this.ws) this.connect();
    }, wait);
  }

  clearTimers() {
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pong);
    clearTimeout(this.timers.reconnect);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  ping() {
    const id = ++this.pingId;
    this.send({ type: "ping", id });
    clearTimeout(this.timers.pong);
    this.timers.pong = setTimeout(() => {
      // No pong: the connection is dead even if the socket does not know it yet.
      if (this.ws) this.ws.close(4000);
    }, PONG_TIMEOUT_MS);
  }

  receive(message) {
    switch (message.type) {
      case "hello":
        if (this.lastSeq === null) {
          // No snapshot yet: the screens load theirs after this and call setSeq.
          this.lastSeq = message.seq;
        } else if (message.seq > this.lastSeq) {
          this.requestCatchup(); // what happened while the socket was down
        }
        break;
      case "pong":
        clearTimeout(this.timers.pong);
        // Everything of ours up to the pong's seq has been sent before it: heard.
        if (typeof message.seq === "number" && this.lastSeq !== null && !this.catchingUp) {
          this.lastSeq = Math.max(this.lastSeq, message.seq);
        }
        break;
      case "events":
        this.handleFrame(message);
        break;
      case "catchup":
        this.catchingUp = false;
        this.apply(message.events || []);
        if (!message.complete) {
          this.resync(); // more missed than the server keeps for a catch-up
        } else if (typeof message.seq === "number") {
          this.lastSeq = Math.max(this.lastSeq, message.seq);
          this.drain();
        }
        break;
      case "resync":
        this.resync();
        break;
      default:
        break;
    }
  }

  handleFrame(frame) {
    if (!frame || typeof frame.seq !== "number" || typeof frame.after !== "number") return;
    if (this.lastSeq !== null && frame.seq <= this.lastSeq) return; // already in a snapshot
    if (this.lastSeq === null || this.catchingUp) {
      // Ahead of what we have (a catch-up or a resync is on its way): keep it for later.
      this.buffer.set(frame.seq, frame);
      if (!this.catchingUp) this.requestCatchup();
      return;
    }
    this.apply(frame.events || []);
    this.lastSeq = Math.max(this.lastSeq, frame.seq);
    this.drain();
  }

  /** Apply events in seq order, each once (those at or below lastSeq are in a snapshot). */
  apply(events) {
    for (const event of events) {
      if (!event || typeof event.seq !== "number") continue;
      if (this.lastSeq !== null && event.seq <= this.lastSeq) continue;
      try {
        this.onEvent(event);
      } catch (error) {
        console.error("event handler failed", event, error);
      }
    }
  }

  /** Frames kept while catching up, applied once they follow on from what we have. */
  drain() {
    for (const seq of [...this.buffer.keys()].sort((a, b) => a - b)) {
      const frame = this.buffer.get(seq);
      if (this.lastSeq === null) break;
      this.buffer.delete(seq);
      if (frame.seq <= this.lastSeq) continue;
      this.apply(frame.events || []);
      this.lastSeq = frame.seq;
    }
  }

  requestCatchup() {
    if (this.catchingUp || this.lastSeq === null) return;
    this.catchingUp = true;
    this.send({ type: "catchup", after: this.lastSeq });
    // If the answer never comes (the socket died), the reconnect's hello asks again.
    setTimeout(() => {
      this.catchingUp = false;
    }, 5000);
  }

  async resync() {
    try {
      const seq = await this.onResync();
      // Frames newer than the snapshots stay buffered and apply on top of them.
      this.setSeq(seq);
      this.drain();
    } catch (error) {
      console.error("resync failed", error);
    }
  }
}
