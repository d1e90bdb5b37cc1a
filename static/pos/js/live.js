// The tablet websocket (/ws/pos/): events in seq order, catch-up on a gap, heartbeat,
// reconnect with backoff. The database is the truth; this only wakes the screens up.
//
//   server -> {"type": "hello", "seq": n}
//   server -> {"type": "event", "event": {seq, type, data}}
//   client -> {"type": "catchup", "after": n}  server -> {"type": "catchup", events, complete}
//   client -> {"type": "ping", "id": k}        server -> {"type": "pong", "id": k}

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
    this.buffer = new Map(); // seq -> event, received ahead of a gap
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
          this.requestCatchup();
        }
        break;
      case "pong":
        clearTimeout(this.timers.pong);
        break;
      case "event":
        this.handleEvent(message.event);
        break;
      case "catchup":
        this.catchingUp = false;
        for (const event of message.events || []) this.buffer.set(event.seq, event);
        this.drain();
        if (!message.complete || this.buffer.size) {
          // Still a hole (more missed than the server keeps for a catch-up): re-snapshot.
          this.resync();
        }
        break;
      default:
        break;
    }
  }

  handleEvent(event) {
    if (!event || typeof event.seq !== "number") return;
    if (this.lastSeq !== null && event.seq <= this.lastSeq) return; // already in a snapshot
    this.buffer.set(event.seq, event);
    this.drain();
    if (this.buffer.size && !this.catchingUp) this.requestCatchup();
  }

  drain() {
    while (this.lastSeq !== null && this.buffer.has(this.lastSeq + 1)) {
      const event = this.buffer.get(this.lastSeq + 1);
      this.buffer.delete(this.lastSeq + 1);
      this.lastSeq = event.seq;
      try {
        this.onEvent(event);
      } catch (error) {
        console.error("event handler failed", event, error);
      }
    }
    for (const s of [...this.buffer.keys()]) if (s <= this.lastSeq) this.buffer.delete(s);
  }

  requestCatchup() {
    if (this.catchingUp) return;
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
      // Events newer than the snapshots stay buffered and apply on top of them.
      this.setSeq(seq);
      this.drain();
    } catch (error) {
      console.error("resync failed", error);
    }
  }
}
