// The tablet's live feed (/ws/pos/): the tablet's events, applied in order, each once. The
// socket itself (heartbeat, reconnect with backoff, close codes) is static/js/feed.js, shared
// with the kitchen screens; the database is the truth, this only wakes the screens up
// (docs/realtime.md, protocol v2). After a reconnect it catches up from its last seq.

import { CLOSE_REVOKED, FeedSocket } from "../../js/feed.js";
import { config } from "./util.js";

const BANNER_AFTER_MS = 1200;
const CATCHUP_TIMEOUT_MS = 5000;

export class Live {
  /**
   * onEvent(event): apply one event (called in seq order, each once).
   * onResync(): the client missed more than a catch-up can give: refetch every snapshot;
   *   resolves to the seq the new snapshots are at.
   * onState(state): "live" | "reconnecting" | "offline".
   * onUnauthorized(): the server closed with 4401 (not signed in any more).
   * onRevoked(): the server closed with 4403 (this tablet was revoked): the page reloads and
   *   shows the pairing screen.
   * onRetrying(attempt): reconnecting for a while: worth asking over HTTP whether we are
   *   still signed in at all.
   */
  constructor({ onEvent, onResync, onState, onUnauthorized, onRetrying = () => {}, onRevoked = () => location.reload() }) {
    Object.assign(this, { onEvent, onResync, onState, onUnauthorized, onRetrying, onRevoked });
    this.lastSeq = null;
    this.buffer = new Map(); // seq -> frame, received ahead of a catch-up
    this.catchingUp = false;
    this.timers = {};
    this.socket = new FeedSocket(config.ws, {
      hello: (message) => this.onHello(message),
      events: (frame) => this.handleFrame(frame),
      pong: (message) => {
        // Everything of ours up to the pong's seq has been sent before it: heard.
        if (typeof message.seq === "number" && this.lastSeq !== null && !this.catchingUp) {
          this.lastSeq = Math.max(this.lastSeq, message.seq);
        }
      },
      catchup: (message) => this.onCatchup(message),
      resync: () => this.resync(),
      down: ({ attempt }) => this.onDown(attempt),
      refused: (code) => {
        clearTimeout(this.timers.banner);
        this.onState("offline");
        if (code === CLOSE_REVOKED) this.onRevoked();
        else this.onUnauthorized();
      },
    });
  }

  /** The seq of the snapshots the screens show now; later events apply on top. */
  setSeq(seq) {
    if (typeof seq === "number" && (this.lastSeq === null || seq > this.lastSeq)) {
      this.lastSeq = seq;
      for (const s of [...this.buffer.keys()]) if (s <= seq) this.buffer.delete(s);
    }
  }

  start() {
    this.socket.start();
  }

  stop() {
    clearTimeout(this.timers.banner);
    this.socket.stop();
    this.onState("offline");
  }

  /** The tablet woke up or the wifi came back: try now instead of waiting out the backoff. */
  nudge() {
    this.socket.nudge();
  }

  onHello(message) {
    clearTimeout(this.timers.banner);
    this.onState("live");
    if (this.lastSeq === null) {
      // No snapshot yet: the screens load theirs after this and call setSeq.
      this.lastSeq = message.seq;
    } else if (message.seq > this.lastSeq) {
      this.requestCatchup(); // what happened while the socket was down
    }
  }

  onDown(attempt) {
    // A refused handshake looks like any network failure to the browser (code 1006): after
    // a couple of tries, ask over HTTP whether we are still signed in at all.
    if (attempt === 2 || attempt % 5 === 0) this.onRetrying(attempt);
    // A blip (a deploy, a wifi hand-over) reconnects before anyone needs to see a banner.
    clearTimeout(this.timers.banner);
    this.timers.banner = setTimeout(() => this.onState("reconnecting"), attempt > 1 ? 0 : BANNER_AFTER_MS);
  }

  onCatchup(message) {
    this.catchingUp = false;
    clearTimeout(this.timers.catchup);
    this.apply(message.events || []);
    if (!message.complete) {
      this.resync(); // more missed than the server keeps for a catch-up
    } else if (typeof message.seq === "number") {
      this.lastSeq = Math.max(this.lastSeq, message.seq);
      this.drain();
    }
  }

  handleFrame(frame) {
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
    if (!this.socket.send({ type: "catchup", after: this.lastSeq })) return; // the next hello asks
    this.catchingUp = true;
    // If the answer never comes (the socket died), the reconnect's hello asks again.
    clearTimeout(this.timers.catchup);
    this.timers.catchup = setTimeout(() => {
      this.catchingUp = false;
    }, CATCHUP_TIMEOUT_MS);
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
