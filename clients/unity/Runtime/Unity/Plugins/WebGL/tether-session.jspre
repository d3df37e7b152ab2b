// Generated from packages/session/src by packages/session/scripts/build-unity-webgl.mjs; do not edit.
// Regenerate: npm run build:unity -w @tether/session
"use strict";
var TetherSessionLib = (() => {
  var __defProp = Object.defineProperty;
  var __defProps = Object.defineProperties;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropDescs = Object.getOwnPropertyDescriptors;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __getOwnPropSymbols = Object.getOwnPropertySymbols;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __propIsEnum = Object.prototype.propertyIsEnumerable;
  var __defNormalProp = (obj, key, value) => key in obj ? __defProp(obj, key, { enumerable: true, configurable: true, writable: true, value }) : obj[key] = value;
  var __spreadValues = (a, b) => {
    for (var prop in b || (b = {}))
      if (__hasOwnProp.call(b, prop))
        __defNormalProp(a, prop, b[prop]);
    if (__getOwnPropSymbols)
      for (var prop of __getOwnPropSymbols(b)) {
        if (__propIsEnum.call(b, prop))
          __defNormalProp(a, prop, b[prop]);
      }
    return a;
  };
  var __spreadProps = (a, b) => __defProps(a, __getOwnPropDescs(b));
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);
  var __publicField = (obj, key, value) => __defNormalProp(obj, typeof key !== "symbol" ? key + "" : key, value);

  // packages/session/src/index.ts
  var index_exports = {};
  __export(index_exports, {
    CloseCode: () => CloseCode,
    PROTOCOL_VERSION: () => PROTOCOL_VERSION,
    SessionClient: () => SessionClient,
    SessionError: () => SessionError,
    isSessionError: () => isSessionError,
    parseClientFrame: () => parseClientFrame,
    parseServerFrame: () => parseServerFrame
  });

  // packages/link/src/backoff.ts
  function exponentialCeiling(options) {
    const { baseMs, capMs } = options;
    return (failures) => Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1));
  }
  function outageCeiling(options) {
    const { ratio, floorMs, capMs } = options;
    return (outageMs) => Math.min(capMs, Math.max(floorMs, ratio * outageMs));
  }
  var fullJitter = (ceilingMs, random) => Math.floor(random() * (ceilingMs + 1));
  var equalJitter = (ceilingMs, random) => Math.round(ceilingMs / 2 + random() * ceilingMs / 2);
  function fullJitterBackoff(options = {}) {
    var _a, _b, _c, _d, _e, _f, _g, _h;
    const first = (_a = options.firstRetryMaxMs) != null ? _a : 250;
    const ratio = (_b = options.ratio) != null ? _b : 0.5;
    const floor = (_c = options.floorMs) != null ? _c : 500;
    const cap = (_d = options.capMs) != null ? _d : 3e4;
    const unwelcome = (_e = options.unwelcomeMs) != null ? _e : 6e4;
    const flapLimit = (_f = options.flapLimit) != null ? _f : 5;
    const flapFloorMs = (_g = options.flapFloorMs) != null ? _g : 1e3;
    const later = outageCeiling({ ratio, floorMs: floor, capMs: cap });
    const damping = exponentialCeiling({ baseMs: flapFloorMs, capMs: cap });
    return {
      delay({ failures, outageMs, spreadMs = 0 }, random) {
        if (failures <= 1) return fullJitter(Math.max(first, spreadMs), random);
        return fullJitter(later(outageMs), random);
      },
      unwelcomeDelay(random) {
        return equalJitter(unwelcome, random);
      },
      flapWindowMs: (_h = options.flapWindowMs) != null ? _h : 6e4,
      flapFloor(losses) {
        return losses <= flapLimit ? 0 : damping(losses - flapLimit);
      }
    };
  }

  // packages/link/src/clock.ts
  var systemClock = {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      var _a;
      const handle = globalThis.setTimeout(fn, ms);
      (_a = handle.unref) == null ? void 0 : _a.call(handle);
      return handle;
    },
    clearTimeout(handle) {
      globalThis.clearTimeout(handle);
    }
  };

  // packages/link/src/emitter.ts
  var Emitter = class {
    constructor() {
      __publicField(this, "listeners", /* @__PURE__ */ new Map());
    }
    on(event, listener) {
      let set = this.listeners.get(event);
      if (!set) this.listeners.set(event, set = /* @__PURE__ */ new Set());
      set.add(listener);
      return () => this.off(event, listener);
    }
    off(event, listener) {
      const set = this.listeners.get(event);
      set == null ? void 0 : set.delete(listener);
      if ((set == null ? void 0 : set.size) === 0) this.listeners.delete(event);
    }
    listenerCount(event) {
      var _a, _b;
      if (event !== void 0) return (_b = (_a = this.listeners.get(event)) == null ? void 0 : _a.size) != null ? _b : 0;
      let total = 0;
      for (const set of this.listeners.values()) total += set.size;
      return total;
    }
    emit(event, ...args) {
      const set = this.listeners.get(event);
      if (!set) return;
      for (const listener of [...set]) {
        try {
          listener(...args);
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
  };

  // packages/link/src/errors.ts
  var LinkError = class extends Error {
    constructor(code, message) {
      super(message);
      __publicField(this, "code", code);
      this.name = "LinkError";
    }
  };

  // packages/link/src/socket.ts
  function platformWebSocket() {
    return globalThis.WebSocket;
  }
  function browserSocketFactory(WebSocketImpl = platformWebSocket()) {
    if (!WebSocketImpl) throw new Error("no WebSocket implementation on this platform");
    return (url, handlers) => {
      const ws = new WebSocketImpl(url);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => handlers.onOpen();
      ws.onmessage = (event) => {
        if (typeof event.data === "string") handlers.onMessage(event.data, false);
        else handlers.onMessage(new Uint8Array(event.data), true);
      };
      ws.onerror = () => handlers.onError(new Error("WebSocket error"));
      ws.onclose = (event) => handlers.onClose(event.code, event.reason);
      return {
        send: (data) => {
          if (ws.readyState !== void 0 && ws.readyState !== 1)
            throw new Error(`WebSocket is not open: readyState ${ws.readyState}`);
          ws.send(data);
        },
        close: (code, reason) => ws.close(code, reason),
        // Browsers cannot cut a socket without a close handshake; close() is the closest.
        terminate: () => ws.close(),
        get bufferedAmount() {
          return ws.bufferedAmount;
        }
      };
    };
  }

  // packages/link/src/states.ts
  var defaultUnwelcome = (code, reason) => [1008, 4001, 4003, 4401, 4403].includes(code) || /replac/i.test(reason);

  // packages/link/src/link.ts
  var Link = class extends Emitter {
    constructor(options) {
      var _a, _b, _c, _d;
      super();
      __publicField(this, "state");
      __publicField(this, "clock");
      __publicField(this, "random");
      __publicField(this, "backoff");
      __publicField(this, "factory");
      __publicField(this, "unwelcome");
      __publicField(this, "budget");
      __publicField(this, "failures", 0);
      /** When the current run of failures began. A completed handshake ends the run. */
      __publicField(this, "outageSince", 0);
      __publicField(this, "parkedAnnounced", false);
      /** When the socket was lost after a completed handshake, within the flap window. */
      __publicField(this, "flaps", []);
      __publicField(this, "attempts", 0);
      __publicField(this, "generation", 0);
      __publicField(this, "online", true);
      __publicField(this, "waiters", []);
      /** Sockets closed politely, waiting for the peer or the grace timer; made at the first. */
      __publicField(this, "closing");
      __publicField(this, "options");
      this.options = __spreadValues({}, options);
      this.clock = (_a = options.clock) != null ? _a : systemClock;
      this.random = (_b = options.random) != null ? _b : Math.random;
      this.backoff = isBackoff(options.backoff) ? options.backoff : sharedBackoff(options.backoff);
      this.factory = (_c = options.socketFactory) != null ? _c : defaultFactory();
      this.unwelcome = (_d = options.unwelcome) != null ? _d : defaultUnwelcome;
      this.budget = options.connectBudget;
      this.state = { name: "disabled", since: this.clock.now() };
    }
    get status() {
      const s = this.state;
      switch (s.name) {
        case "disabled":
          return { name: s.name, since: s.since };
        case "connecting":
          return { name: s.name, since: s.since, attempt: s.attempt };
        case "open":
        case "ready":
          return { name: s.name, since: s.since, generation: s.generation };
        case "reconnecting":
          return { name: s.name, since: s.since, reason: s.reason };
        case "backoff":
          return { name: s.name, since: s.since, failures: s.failures, retryAt: s.wakeAt };
        case "parked":
          return { name: s.name, since: s.since, failures: s.failures, probeAt: s.wakeAt };
      }
    }
    /**
     * When the peer last showed a sign of life (a frame or a pong) on the open socket; null when
     * no socket is open. A monitor uses it to find zombies the heartbeat has not caught.
     */
    get lastAliveAt() {
      const s = this.state;
      return s.name === "open" || s.name === "ready" ? s.lastAlive : null;
    }
    /** The link's settings after defaults, for monitors and status pages. */
    /**
     * A live change of the heartbeat (a configuration reload): the next ping and the deadline
     * follow the new values at once, without a reconnect.
     */
    configure(change) {
      var _a;
      if (change.pingIntervalMs !== void 0) this.options.pingIntervalMs = change.pingIntervalMs;
      if (change.maxMissedPongs !== void 0) this.options.maxMissedPongs = change.maxMissedPongs;
      const s = this.state;
      if ((s.name === "open" || s.name === "ready") && s.heartbeat) {
        s.nextPingAt = Math.min(
          s.nextPingAt,
          this.clock.now() + ((_a = this.options.pingIntervalMs) != null ? _a : 5e3)
        );
        this.scheduleHeartbeat(s);
      }
    }
    get heartbeat() {
      var _a, _b;
      return {
        intervalMs: (_a = this.options.pingIntervalMs) != null ? _a : 5e3,
        maxMissed: (_b = this.options.maxMissedPongs) != null ? _b : 2
      };
    }
    /** Consecutive failures since the last stable period. */
    get failureCount() {
      return this.failures;
    }
    /** Connection attempts made since creation. */
    get attemptCount() {
      return this.attempts;
    }
    /**
     * Asks for the link to be up. From `disabled` this starts the first attempt; otherwise it
     * joins whatever is under way (a backoff is honoured: `retryNow()` is the way to skip it).
     * Resolves when a socket is open; rejects with LINK_CLOSED if close() comes first.
     */
    connect() {
      if (this.state.name === "disabled") this.begin({ type: "person", action: "connect" });
      return this.whenOpen();
    }
    /**
     * Skips a backoff or wakes a parked link; joins an attempt or connection in progress, a
     * planned reconnect, and a place in the connect budget's line.
     */
    retryNow() {
      const s = this.state;
      if (s.name === "backoff" && !s.ticket || s.name === "parked" || s.name === "disabled") {
        this.begin({ type: "person", action: "retryNow" });
      }
    }
    /** Resolves when a socket is open (at once if it is). */
    whenOpen(signal) {
      if (this.state.name === "open" || this.state.name === "ready") return Promise.resolve();
      if (this.state.name === "disabled") {
        return Promise.reject(new LinkError("LINK_CLOSED", "link is disabled"));
      }
      return new Promise((resolve, reject) => {
        const waiter = {
          resolve: () => {
            signal == null ? void 0 : signal.removeEventListener("abort", onAbort);
            resolve();
          },
          reject: (error) => {
            signal == null ? void 0 : signal.removeEventListener("abort", onAbort);
            reject(error);
          }
        };
        const onAbort = () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new LinkError("LINK_ABORTED", "wait for the link aborted"));
        };
        if (signal == null ? void 0 : signal.aborted) return onAbort();
        signal == null ? void 0 : signal.addEventListener("abort", onAbort, { once: true });
        this.waiters.push(waiter);
      });
    }
    /** The layer above finished its handshake (for an MCP endpoint: tools listed). */
    markReady() {
      const s = this.state;
      if (s.name !== "open") return;
      this.failures = 0;
      this.parkedAnnounced = false;
      this.enter(__spreadProps(__spreadValues({}, s), { name: "ready", since: this.clock.now() }), { type: "ready" });
    }
    /** The layer above judged the link dead (e.g. no `initialize` within 10 s of opening). */
    declareDead(reason) {
      const { name } = this.state;
      if (name === "connecting" || name === "open" || name === "ready")
        this.lose({ type: "dead", reason });
    }
    /**
     * Sends on the current socket. With `generation`, only on that socket: a reply computed for a
     * socket that has since died is refused rather than delivered into the next session.
     */
    send(data, generation) {
      const s = this.state;
      if (s.name !== "open" && s.name !== "ready") return false;
      if (generation !== void 0 && generation !== s.generation) return false;
      try {
        s.socket.send(data);
      } catch (error) {
        this.check("send-failed", error.message);
        return false;
      }
      this.watchBuffer(s);
      return true;
    }
    get bufferedAmount() {
      const s = this.state;
      return s.name === "open" || s.name === "ready" ? s.socket.bufferedAmount : 0;
    }
    /** Browser hook: `online`/`offline` events. Offline suspends retries; online retries now. */
    setOnline(online) {
      if (online === this.online) return;
      this.online = online;
      const s = this.state;
      if (s.name === "backoff" || s.name === "parked") {
        if (online) this.begin({ type: "network", online });
        else
          this.enter(
            __spreadProps(__spreadValues({}, s), { wakeAt: null, timer: void 0, ticket: void 0 }),
            { type: "network", online }
          );
      } else if (!online && (s.name === "open" || s.name === "ready")) {
        this.check("page");
      }
    }
    /** Browser hook: page visibility. Coming back retries now and checks an open socket. */
    setVisible(visible) {
      if (!visible) return;
      const s = this.state;
      if (s.name === "backoff" && !s.ticket || s.name === "parked")
        this.begin({ type: "network", online: this.online });
      else if (s.name === "open" || s.name === "ready") this.check("page");
    }
    /**
     * Stops for good: no reconnect, no timer. An open socket is closed politely and cut if the
     * peer does not complete the close within `closeGraceMs` (or the `graceMs` given: 0 sends the
     * close frame and cuts the socket at once, for when someone else may connect any moment);
     * the promise resolves when it is gone.
     */
    close(code = 1e3, reason = "", graceMs) {
      var _a, _b, _c;
      const s = this.state;
      if (s.name === "disabled") return Promise.resolve();
      this.enter({ name: "disabled", since: this.clock.now() }, { type: "person", action: "close" });
      const error = new LinkError("LINK_CLOSED", "link closed");
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
      if (s.name === "connecting") {
        s.socket.terminate();
        return Promise.resolve();
      }
      if (s.name === "reconnecting") return (_c = (_b = (_a = this.closing) == null ? void 0 : _a.get(s.socket)) == null ? void 0 : _b.gone) != null ? _c : Promise.resolve();
      if (s.name !== "open" && s.name !== "ready") return Promise.resolve();
      return this.closePolitely(s.socket, code, reason, void 0, graceMs);
    }
    /*
     * A planned reconnect (the tools changed and the endpoint reads them only at the handshake).
     * Not a failure: no backoff, no count. Never two sockets: the next attempt waits for the old
     * socket to be gone.
     *
     *   ready ──reconnect()──► reconnecting ──close(1000)──► old socket
     *                               │        ◄── close frame, or the grace timer cuts it
     *                               ├── still reconnecting? ──► connecting (new socket)
     *                               └── close() came first  ──► stays disabled: no socket
     *
     * retryNow() and connect() meanwhile join the planned attempt; close() takes the link to
     * `disabled`, and the old socket's end then finds nothing to continue.
     */
    reconnect(reason = "reconnect") {
      const s = this.state;
      if (s.name !== "open" && s.name !== "ready") return;
      const planned = {
        name: "reconnecting",
        since: this.clock.now(),
        reason,
        socket: s.socket
      };
      this.enter(planned, { type: "reconnect", reason });
      void this.closePolitely(s.socket, 1e3, reason, () => {
        if (this.state !== planned) return;
        if (this.online) this.begin({ type: "reconnect", reason });
        else
          this.enter(
            {
              name: "backoff",
              since: this.clock.now(),
              failures: this.failures,
              wakeAt: null,
              timer: void 0
            },
            { type: "network", online: false }
          );
      });
    }
    /** `gone` runs as soon as the socket is gone (close completed or cut), before the promise. */
    closePolitely(socket, code, reason, gone, graceMs = ((_a) => (_a = this.options.closeGraceMs) != null ? _a : 2e3)()) {
      var _a2;
      let resolve;
      const promise = new Promise((r) => resolve = r);
      const done = () => {
        var _a3;
        const entry = (_a3 = this.closing) == null ? void 0 : _a3.get(socket);
        if (!entry) return;
        this.clock.clearTimeout(entry.timer);
        this.closing.delete(socket);
        gone == null ? void 0 : gone();
        resolve();
      };
      const timer = this.clock.setTimeout(() => {
        socket.terminate();
        done();
      }, graceMs);
      ((_a2 = this.closing) != null ? _a2 : this.closing = /* @__PURE__ */ new Map()).set(socket, { done, timer, gone: promise });
      socket.close(code, reason);
      if (graceMs <= 0) {
        socket.terminate();
        done();
      }
      return promise;
    }
    /**
     * Starts an attempt now, or when the shared connect budget gives it its turn (waiting in
     * `backoff`, cause `budget`). Every attempt goes through here; only `attempt` creates a socket.
     */
    begin(cause) {
      if (!this.budget) return this.attempt(cause);
      const now = this.clock.now();
      const waiting = {
        name: "backoff",
        since: now,
        failures: this.failures,
        wakeAt: now,
        timer: void 0
      };
      const ticket = this.budget.acquire(() => {
        if (this.state === waiting) this.attempt({ type: "timer", purpose: "budget" });
      });
      if (!ticket) return this.attempt(cause);
      waiting.wakeAt = ticket.at;
      waiting.ticket = ticket;
      this.enter(waiting, { type: "budget", waitMs: ticket.at - now });
    }
    attempt(cause) {
      var _a;
      const attempt = ++this.attempts;
      let socket;
      const handlers = {
        onOpen: () => this.onOpen(socket),
        onMessage: (data, binary) => {
          const s = this.state;
          if (s.name !== "open" && s.name !== "ready" || s.socket !== socket) return;
          this.alive(s);
          this.emit("message", data, { generation: s.generation, binary });
        },
        onPong: () => {
          const s = this.state;
          if (s.name !== "open" && s.name !== "ready" || s.socket !== socket) return;
          this.alive(s);
        },
        onClose: (code, reason) => {
          var _a2, _b;
          (_b = (_a2 = this.closing) == null ? void 0 : _a2.get(socket)) == null ? void 0 : _b.done();
          if (this.owns(socket)) this.lose({ type: "close", code, reason }, false);
        },
        onError: (error) => {
          if (this.owns(socket)) this.lose({ type: "error", message: error.message });
        }
      };
      const url = typeof this.options.url === "function" ? this.options.url() : this.options.url;
      try {
        socket = this.factory(url, handlers);
      } catch (error) {
        this.enter(
          { name: "connecting", since: this.clock.now(), attempt, socket: inert, timer: void 0 },
          cause
        );
        this.lose({ type: "error", message: error.message }, false);
        return;
      }
      const timer = this.clock.setTimeout(
        () => this.lose({ type: "timeout", phase: "connect" }),
        (_a = this.options.connectTimeoutMs) != null ? _a : 1e4
      );
      this.enter({ name: "connecting", since: this.clock.now(), attempt, socket, timer }, cause);
    }
    onOpen(socket) {
      var _a, _b;
      const s = this.state;
      if (s.name !== "connecting" || s.socket !== socket) return;
      const generation = ++this.generation;
      const canProbe = this.canPing(socket);
      const next = {
        name: "open",
        since: this.clock.now(),
        generation,
        socket,
        heartbeat: void 0,
        stable: this.clock.setTimeout(() => {
          this.failures = 0;
          this.parkedAnnounced = false;
          if (next.name === "open" || next.name === "ready") next.stable = void 0;
        }, (_a = this.options.stableMs) != null ? _a : 3e4),
        lastAlive: this.clock.now(),
        unanswered: 0,
        nextPingAt: this.clock.now() + ((_b = this.options.pingIntervalMs) != null ? _b : 5e3),
        check: void 0,
        buffered: 0,
        strikes: 0
      };
      this.enter(next, { type: "open" });
      if (canProbe) this.scheduleHeartbeat(next);
      for (const waiter of this.waiters.splice(0)) waiter.resolve();
    }
    /*
     * Heartbeat: a ping every P, and a deadline of M × P after the last sign of life (a pong or
     * any frame). A healthy peer moves the deadline at every pong; a silent one misses M pongs
     * and is cut when the deadline passes: at most P × M after it died (10 s by default), well
     * inside the P × (M + 1) bound. A check (below) brings the deadline closer. One timer serves
     * the pings and both deadlines, firing at whichever comes first.
     */
    scheduleHeartbeat(s) {
      this.clock.clearTimeout(s.heartbeat);
      const next = Math.min(s.nextPingAt, this.deadline(s));
      s.heartbeat = this.clock.setTimeout(() => this.tick(), Math.max(0, next - this.clock.now()));
    }
    deadline(s) {
      var _a, _b, _c, _d;
      const interval = (_a = this.options.pingIntervalMs) != null ? _a : 5e3;
      const silence = s.lastAlive + interval * ((_b = this.options.maxMissedPongs) != null ? _b : 2);
      return Math.min(silence, (_d = (_c = s.check) == null ? void 0 : _c.deadline) != null ? _d : Infinity);
    }
    tick() {
      var _a;
      const s = this.state;
      if (s.name !== "open" && s.name !== "ready") return;
      const now = this.clock.now();
      if (now >= this.deadline(s)) {
        const check = s.check && now >= s.check.deadline ? { check: s.check.trigger } : {};
        this.lose(__spreadValues({ type: "heartbeat", missed: s.unanswered, silentMs: now - s.lastAlive }, check));
        return;
      }
      if (now >= s.nextPingAt) {
        s.unanswered++;
        s.nextPingAt = now + ((_a = this.options.pingIntervalMs) != null ? _a : 5e3);
        if (!this.ping(s.socket)) return this.lose({ type: "dead", reason: "ping failed" });
      }
      this.watchBuffer(s);
      if (this.state === s) this.scheduleHeartbeat(s);
    }
    alive(s) {
      s.lastAlive = this.clock.now();
      s.unanswered = 0;
      s.check = void 0;
    }
    /*
     * A check: something said the socket may be dead (a send failed, the send buffer keeps
     * growing, the page came back or went offline), so a ping goes out now and the peer must
     * answer within a short deadline instead of the heartbeat's M × P. A half-open socket is cut
     * within `checkTimeoutMs` of the first failed send, not 10 s later.
     */
    check(trigger, failure) {
      var _a, _b, _c;
      const s = this.state;
      if (s.name !== "open" && s.name !== "ready") return;
      if (!this.canPing(s.socket)) {
        if (failure !== void 0) this.lose({ type: "dead", reason: `send failed: ${failure}` });
        return;
      }
      const now = this.clock.now();
      const within = trigger === "page" ? (_a = this.options.pingIntervalMs) != null ? _a : 5e3 : (_b = this.options.checkTimeoutMs) != null ? _b : 2e3;
      if (s.check && s.check.deadline <= now + within) return;
      s.check = { trigger, deadline: now + within };
      s.unanswered++;
      s.nextPingAt = now + ((_c = this.options.pingIntervalMs) != null ? _c : 5e3);
      if (!this.ping(s.socket)) return this.lose({ type: "dead", reason: "ping failed" });
      this.scheduleHeartbeat(s);
    }
    /** A send buffer over the limit that grew since the last look, twice in a row, gets a check. */
    watchBuffer(s) {
      var _a;
      const buffered = s.socket.bufferedAmount;
      const limit = (_a = this.options.bufferedLimitBytes) != null ? _a : 1048576;
      if (buffered > limit && buffered > s.buffered) s.strikes++;
      else if (buffered < s.buffered || buffered <= limit) s.strikes = 0;
      s.buffered = buffered;
      if (s.strikes >= 2) this.check("backpressure");
    }
    canPing(socket) {
      return Boolean(socket.ping || this.options.heartbeat);
    }
    ping(socket) {
      var _a, _b;
      try {
        if (socket.ping) socket.ping();
        else (_b = (_a = this.options).heartbeat) == null ? void 0 : _b.call(_a, (data) => socket.send(data));
        return true;
      } catch (e) {
        return false;
      }
    }
    /*
     * The current socket is gone or judged dead: cut it, count the failure, decide the wait.
     *
     * A loss after a completed handshake starts a new run (markReady ended the last one), so it
     * gets the quick first retry however recently the previous run was. Only a link that does
     * this more than the backoff's flap limit within its window is damped (a floor on that first
     * retry), and the cause says so. A loss of an open socket is also reported to the shared
     * budget, which widens the first retry when many links lose theirs at once.
     */
    lose(cause, cut = true) {
      var _a, _b, _c, _d, _e;
      const s = this.state;
      if (s.name !== "connecting" && s.name !== "open" && s.name !== "ready") return;
      if (cut) s.socket.terminate();
      const now = this.clock.now();
      const failures = ++this.failures;
      if (failures === 1) this.outageSince = now;
      const outageMs = now - this.outageSince;
      if (s.name !== "connecting") (_a = this.budget) == null ? void 0 : _a.noteLoss();
      const damped = s.name === "ready" ? this.flapped(now) : void 0;
      if (damped) cause = __spreadProps(__spreadValues({}, cause), { damped });
      if (failures >= ((_b = this.options.maxFailures) != null ? _b : 10) && outageMs >= ((_c = this.options.parkAfterMs) != null ? _c : 6e4)) {
        this.park(failures, cause);
        return;
      }
      const unwelcome = cause.type === "close" && this.unwelcome(cause.code, cause.reason);
      let delay = unwelcome ? this.backoff.unwelcomeDelay(this.random) : this.backoff.delay(
        { failures, outageMs, spreadMs: (_e = (_d = this.budget) == null ? void 0 : _d.spreadMs()) != null ? _e : 0 },
        this.random
      );
      if (damped)
        delay = Math.max(delay, damped.floorMs + fullJitter(damped.floorMs / 2, this.random));
      if (!this.online) {
        this.enter({ name: "backoff", since: now, failures, wakeAt: null, timer: void 0 }, cause);
        return;
      }
      const timer = this.clock.setTimeout(
        () => this.begin({ type: "timer", purpose: "retry" }),
        delay
      );
      this.enter({ name: "backoff", since: now, failures, wakeAt: now + delay, timer }, cause);
    }
    /** Counts a loss after a completed handshake; the damping it earns, if any. */
    flapped(now) {
      const windowMs = this.backoff.flapWindowMs;
      if (windowMs === void 0 || !this.backoff.flapFloor) return void 0;
      this.flaps = this.flaps.filter((at) => at > now - windowMs);
      this.flaps.push(now);
      const floorMs = this.backoff.flapFloor(this.flaps.length);
      return floorMs > 0 ? { losses: this.flaps.length, windowMs, floorMs } : void 0;
    }
    park(failures, cause) {
      var _a;
      const now = this.clock.now();
      const probe = (_a = this.options.probeIntervalMs) != null ? _a : 3e5;
      const timer = this.online ? this.clock.setTimeout(() => this.begin({ type: "timer", purpose: "probe" }), probe) : void 0;
      const wakeAt = this.online ? now + probe : null;
      const transition = this.enter({ name: "parked", since: now, failures, wakeAt, timer }, cause);
      if (!this.parkedAnnounced) {
        this.parkedAnnounced = true;
        this.emit("parked", transition);
      }
    }
    /** Leaves the current state (clearing what it owned) and announces the new one. */
    enter(next, cause) {
      const prev = this.state;
      this.release(prev, next);
      this.state = next;
      const transition = {
        from: prev.name,
        to: next.name,
        at: this.clock.now(),
        cause,
        status: this.status
      };
      this.emit("transition", transition);
      return transition;
    }
    release(prev, next) {
      var _a;
      switch (prev.name) {
        case "connecting":
          this.clock.clearTimeout(prev.timer);
          break;
        case "open":
        case "ready":
          if ((next.name === "open" || next.name === "ready") && next.socket === prev.socket) break;
          this.clock.clearTimeout(prev.heartbeat);
          this.clock.clearTimeout(prev.stable);
          break;
        case "backoff":
        case "parked":
          this.clock.clearTimeout(prev.timer);
          (_a = prev.ticket) == null ? void 0 : _a.cancel();
          break;
        case "reconnecting":
          break;
      }
    }
    owns(socket) {
      const s = this.state;
      return (s.name === "connecting" || s.name === "open" || s.name === "ready") && s.socket === socket;
    }
  };
  var inert = { send() {
  }, close() {
  }, terminate() {
  }, bufferedAmount: 0 };
  var backoffs = /* @__PURE__ */ new Map();
  var BACKOFF_KEYS = [
    "firstRetryMaxMs",
    "ratio",
    "floorMs",
    "capMs",
    "unwelcomeMs",
    "flapLimit",
    "flapWindowMs",
    "flapFloorMs"
  ];
  function sharedBackoff(options = {}) {
    const key = BACKOFF_KEYS.map((k) => options[k]).join(",");
    let backoff = backoffs.get(key);
    if (!backoff) {
      if (backoffs.size >= 64) backoffs.clear();
      backoffs.set(key, backoff = fullJitterBackoff(options));
    }
    return backoff;
  }
  function isBackoff(value) {
    return typeof (value == null ? void 0 : value.delay) === "function";
  }
  function defaultFactory() {
    if (!platformWebSocket()) {
      return () => {
        throw new LinkError(
          "LINK_NO_WEBSOCKET",
          "no global WebSocket: pass socketFactory (wsSocketFactory() in Node)"
        );
      };
    }
    return browserSocketFactory();
  }

  // packages/link/src/browser.ts
  function attachPageLifecycle(link, sources = globalThis) {
    var _a;
    const { window: win, document: doc } = sources;
    const online = () => link.setOnline(true);
    const offline = () => link.setOnline(false);
    const visibility = () => link.setVisible((doc == null ? void 0 : doc.visibilityState) !== "hidden");
    const resume = () => link.setVisible(true);
    win == null ? void 0 : win.addEventListener("online", online);
    win == null ? void 0 : win.addEventListener("offline", offline);
    doc == null ? void 0 : doc.addEventListener("visibilitychange", visibility);
    doc == null ? void 0 : doc.addEventListener("resume", resume);
    if (((_a = win == null ? void 0 : win.navigator) == null ? void 0 : _a.onLine) === false) link.setOnline(false);
    return () => {
      win == null ? void 0 : win.removeEventListener("online", online);
      win == null ? void 0 : win.removeEventListener("offline", offline);
      doc == null ? void 0 : doc.removeEventListener("visibilitychange", visibility);
      doc == null ? void 0 : doc.removeEventListener("resume", resume);
    };
  }

  // packages/session/src/errors.ts
  var SessionError = class extends Error {
    constructor(code, message) {
      super(message);
      __publicField(this, "code", code);
      this.name = "SessionError";
    }
  };
  function isSessionError(error, code) {
    return error instanceof SessionError && (code === void 0 || error.code === code);
  }

  // packages/session/src/inbound.ts
  var Inbound = class {
    constructor(clock, sendAck, policy = {}) {
      __publicField(this, "clock", clock);
      __publicField(this, "sendAck", sendAck);
      /** Highest seq received in order. */
      __publicField(this, "lastSeq", 0);
      __publicField(this, "acked", 0);
      __publicField(this, "latest", 0);
      __publicField(this, "unacked", 0);
      __publicField(this, "repeat", false);
      __publicField(this, "timer");
      __publicField(this, "delayMs");
      __publicField(this, "every");
      var _a, _b;
      this.delayMs = (_a = policy.ackDelayMs) != null ? _a : 20;
      this.every = (_b = policy.ackEvery) != null ? _b : 32;
    }
    /**
     * Classifies an incoming seq. `new` advances lastSeq; a `duplicate` (a replay of something
     * already received) asks for an ack again, since the sender evidently missed ours; a `gap`
     * means the transport lost a frame, which an ordered socket never does: the caller drops it.
     */
    receive(seq) {
      if (seq <= this.lastSeq) {
        this.repeat = true;
        this.schedule();
        return "duplicate";
      }
      if (seq > this.lastSeq + 1) return "gap";
      this.lastSeq = seq;
      return "new";
    }
    /** Everything up to `seq` may be acknowledged (the server calls this once it is stored). */
    ack(seq) {
      if (seq <= this.latest) return;
      this.latest = seq;
      this.unacked++;
      if (this.unacked >= this.every) this.flush();
      else this.schedule();
    }
    /** Sends the pending ack now (before a pausing hint, for instance). */
    flush() {
      this.clock.clearTimeout(this.timer);
      this.timer = void 0;
      if (this.latest > this.acked || this.repeat && this.latest > 0) this.sendAck(this.latest);
      this.acked = this.latest;
      this.unacked = 0;
      this.repeat = false;
    }
    /**
     * A new socket: the peer learnt our position from the hello or welcome, so nothing is owed;
     * `lastSeq` is where receiving resumes.
     */
    reset(lastSeq, acked = lastSeq) {
      this.stop();
      this.lastSeq = lastSeq;
      this.latest = acked;
      this.acked = acked;
    }
    /** The socket is gone: no ack timer may outlive it. */
    stop() {
      this.clock.clearTimeout(this.timer);
      this.timer = void 0;
      this.unacked = 0;
      this.repeat = false;
    }
    schedule() {
      if (this.timer !== void 0) return;
      if (this.delayMs <= 0) return this.flush();
      this.timer = this.clock.setTimeout(() => {
        this.timer = void 0;
        this.flush();
      }, this.delayMs);
    }
  };

  // packages/session/src/lifecycle.ts
  function attachSessionLifecycle(link, hooks, sources) {
    const detachLink = attachPageLifecycle(link, sources);
    const { window: win, document: doc } = sources;
    const visibility = () => (doc == null ? void 0 : doc.visibilityState) === "hidden" ? hooks.leaving() : hooks.back();
    const leaving = () => hooks.leaving();
    const back = () => hooks.back();
    doc == null ? void 0 : doc.addEventListener("visibilitychange", visibility);
    doc == null ? void 0 : doc.addEventListener("freeze", leaving);
    doc == null ? void 0 : doc.addEventListener("resume", back);
    win == null ? void 0 : win.addEventListener("pagehide", leaving);
    win == null ? void 0 : win.addEventListener("pageshow", back);
    return () => {
      detachLink();
      doc == null ? void 0 : doc.removeEventListener("visibilitychange", visibility);
      doc == null ? void 0 : doc.removeEventListener("freeze", leaving);
      doc == null ? void 0 : doc.removeEventListener("resume", back);
      win == null ? void 0 : win.removeEventListener("pagehide", leaving);
      win == null ? void 0 : win.removeEventListener("pageshow", back);
    };
  }
  function currentPage() {
    const g = globalThis;
    return g.document ? { window: g.window, document: g.document } : void 0;
  }

  // packages/session/src/protocol.ts
  var PROTOCOL_VERSION = 1;
  var CloseCode = {
    /** Normal end (the client sent `end`). Do not reconnect. */
    Normal: 1e3,
    /** The server is shutting down or restarting. Reconnect with backoff and resume. */
    GoingAway: 1001,
    /** Malformed frame, no hello in time, sequence gap. Reconnect with backoff and resume. */
    ProtocolError: 4400,
    /** The resume token is malformed or does not match. Forget it and connect again without one. */
    BadResumeToken: 4401,
    /** The app was silent (paused) too long on a live socket. The session is kept: resume now. */
    AppSilent: 4408,
    /** Another connection resumed this session. Do not reconnect: it would steal it back. */
    Replaced: 4409,
    /** The session expired or was ended by the server. Start a new one (connect without a token). */
    SessionExpired: 4410
  };
  var MAX_CONTEXT_BYTES = 64 * 1024;
  var isSeq = (value) => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
  function parseClientFrame(text) {
    var _a, _b, _c;
    const object = parseObject(text);
    if (!object.ok) return object;
    const f = object.frame;
    switch (f.type) {
      case "hello":
        if (typeof f.version !== "number") return bad("hello without a version");
        if (f.resumeToken != null && typeof f.resumeToken !== "string")
          return bad("resumeToken must be a string");
        if (!isSeq((_a = f.lastSeq) != null ? _a : 0)) return bad("lastSeq must be a non-negative integer");
        if (f.context !== void 0 && utf8Length(JSON.stringify(f.context)) > MAX_CONTEXT_BYTES)
          return bad(`hello context larger than ${MAX_CONTEXT_BYTES} bytes`);
        return ok(__spreadValues({
          type: "hello",
          version: f.version,
          resumeToken: (_b = f.resumeToken) != null ? _b : null,
          lastSeq: (_c = f.lastSeq) != null ? _c : 0
        }, f.context !== void 0 && { context: f.context }));
      case "data":
      case "ack":
        return isSeq(f.seq) && f.seq > 0 ? dataOrAck(f) : bad(`${f.type} needs a positive seq`);
      case "ping":
      case "pausing":
      case "end":
        return ok({ type: f.type });
      default:
        return bad(`unknown frame type ${JSON.stringify(f.type)}`);
    }
  }
  function parseServerFrame(text) {
    const object = parseObject(text);
    if (!object.ok) return object;
    const f = object.frame;
    switch (f.type) {
      case "welcome": {
        const fields = ["lastSeq", "replayFrom", "heartbeatMs", "resumeWindowMs"];
        if (typeof f.sessionId !== "string" || typeof f.resumeToken !== "string")
          return bad("welcome without sessionId or resumeToken");
        if (typeof f.resumed !== "boolean") return bad("welcome without resumed");
        if (!fields.every((k) => isSeq(f[k]))) return bad("welcome with a bad number");
        return ok(f);
      }
      case "data":
      case "ack":
        return isSeq(f.seq) && f.seq > 0 ? dataOrAck(f) : bad(`${f.type} needs a positive seq`);
      case "pong":
        return ok({ type: "pong" });
      default:
        return bad(`unknown frame type ${JSON.stringify(f.type)}`);
    }
  }
  function encode(frame2) {
    return JSON.stringify(frame2);
  }
  function utf8Length(text) {
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 128) n += 1;
      else if (c < 2048) n += 2;
      else if (c >= 55296 && c <= 56319) {
        n += 4;
        i++;
      } else n += 3;
    }
    return n;
  }
  function dataOrAck(f) {
    const frame2 = f.type === "data" ? { type: "data", seq: f.seq, body: f.body } : { type: "ack", seq: f.seq };
    return ok(frame2);
  }
  function parseObject(text) {
    let value;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return bad("not JSON");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
      return bad("not a JSON object");
    return ok(value);
  }
  var ok = (frame2) => ({ ok: true, frame: frame2 });
  var bad = (reason) => ({ ok: false, reason });

  // packages/session/src/outbox.ts
  var Outbox = class {
    constructor(limits = {}) {
      __publicField(this, "entries", []);
      __publicField(this, "nextSeq", 1);
      __publicField(this, "total", 0);
      __publicField(this, "maxMessages");
      __publicField(this, "maxBytes");
      __publicField(this, "overflow");
      var _a, _b, _c;
      this.maxMessages = (_a = limits.maxMessages) != null ? _a : 1e3;
      this.maxBytes = (_b = limits.maxBytes) != null ? _b : 1024 * 1024;
      this.overflow = (_c = limits.overflow) != null ? _c : "reject";
    }
    get size() {
      return this.entries.length;
    }
    get bytes() {
      return this.total;
    }
    /** Queues a message; `dropped` holds the bodies evicted to make room for it. */
    push(body) {
      var _a;
      const json = JSON.stringify(body != null ? body : null);
      const bytes = utf8Length(json);
      const dropped = [];
      if (bytes > this.maxBytes) return { accepted: false, dropped };
      const fits = () => this.entries.length + 1 <= this.maxMessages && this.total + bytes <= this.maxBytes;
      if (!fits()) {
        if (this.overflow === "reject") return { accepted: false, dropped };
        const first = this.entries.findIndex((e) => e.seq === 0);
        const unsent = first < 0 ? [] : this.entries.slice(first);
        const unsentBytes = unsent.reduce((sum, e) => sum + e.bytes, 0);
        if (this.total - unsentBytes + bytes > this.maxBytes || this.maxMessages < 1)
          return { accepted: false, dropped };
        while (!fits() && ((_a = this.entries[first]) == null ? void 0 : _a.seq) === 0) {
          const [evicted] = this.entries.splice(first, 1);
          this.total -= evicted.bytes;
          dropped.push(JSON.parse(evicted.json));
        }
        if (!fits()) return { accepted: false, dropped };
      }
      this.entries.push({ seq: 0, json, bytes });
      this.total += bytes;
      return { accepted: true, dropped };
    }
    /** Numbers the queued messages and returns their frames, in order. */
    takeUnsent() {
      const frames = [];
      for (const entry of this.entries) {
        if (entry.seq !== 0) continue;
        entry.seq = this.nextSeq++;
        frames.push(frame(entry));
      }
      return frames;
    }
    /** The server holds everything up to `seq`. */
    ack(seq) {
      let n = 0;
      while (n < this.entries.length && this.entries[n].seq !== 0 && this.entries[n].seq <= seq) {
        this.total -= this.entries[n].bytes;
        n++;
      }
      if (n > 0) this.entries.splice(0, n);
    }
    /** The server holds seqs up to `seq` already: new messages are numbered after them. */
    continueAfter(seq) {
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
    }
    /** Frames sent before and not acknowledged, to send again on a new socket. */
    unacked() {
      return this.entries.filter((e) => e.seq !== 0).map(frame);
    }
    /** The highest seq ever given out (0: none). */
    get lastSeq() {
      return this.nextSeq - 1;
    }
    /** Empties the outbox for a new session and returns what it held, oldest first. */
    drain() {
      const bodies = this.entries.map((e) => JSON.parse(e.json));
      this.entries = [];
      this.total = 0;
      this.nextSeq = 1;
      return bodies;
    }
  };
  var frame = (e) => `{"type":"data","seq":${e.seq},"body":${e.json}}`;

  // packages/session/src/client.ts
  var SessionClient = class extends Emitter {
    constructor(options) {
      var _a, _b;
      super();
      __publicField(this, "options", options);
      __publicField(this, "link");
      __publicField(this, "clock");
      __publicField(this, "outbox");
      __publicField(this, "inbound");
      __publicField(this, "current", "idle");
      __publicField(this, "id", null);
      __publicField(this, "token", null);
      /** Set when a close told us to drop the token: the reason the next welcome is not a resume. */
      __publicField(this, "forgotten");
      __publicField(this, "welcomed", false);
      __publicField(this, "welcomeTimer");
      __publicField(this, "pingTimer");
      __publicField(this, "pingEvery", 0);
      __publicField(this, "waiters", []);
      __publicField(this, "teardown", []);
      this.clock = (_a = options.clock) != null ? _a : systemClock;
      this.outbox = new Outbox(options.outbox);
      this.inbound = new Inbound(
        this.clock,
        (seq) => this.raw(encode({ type: "ack", seq })),
        options.acks
      );
      this.link = new Link(__spreadProps(__spreadValues({}, options.link), {
        url: options.url,
        socketFactory: options.socketFactory,
        clock: this.clock,
        random: options.random,
        // Where the socket has no ping frames (browsers), the app ping is the transport's too.
        heartbeat: (send) => send(encode({ type: "ping" })),
        // Our close codes are handled below; only a policy violation from a proxy means "go away".
        unwelcome: (code) => code === 1008
      }));
      this.teardown.push(
        this.link.on("transition", (t) => this.onTransition(t)),
        this.link.on("message", (data) => {
          if (typeof data === "string") this.onFrame(data);
          else this.link.declareDead("binary frame");
        })
      );
      if (options.resume) {
        this.id = options.resume.sessionId;
        this.token = options.resume.resumeToken;
        this.inbound.reset(options.resume.lastSeq);
      }
      const page = options.page === false ? void 0 : (_b = options.page) != null ? _b : currentPage();
      if (page) {
        const hooks = { leaving: () => this.pause(), back: () => this.ping() };
        this.teardown.push(attachSessionLifecycle(this.link, hooks, page));
      }
    }
    get state() {
      return this.current;
    }
    get sessionId() {
      return this.id;
    }
    get resumeToken() {
      return this.token;
    }
    /**
     * What to store to resume this session after the app restarts (the `resume` option), or null
     * before the first welcome. The token changes at every welcome: store it again then.
     */
    snapshot() {
      if (!this.id || !this.token) return null;
      return { sessionId: this.id, resumeToken: this.token, lastSeq: this.inbound.lastSeq };
    }
    /** Messages queued or awaiting an ack. */
    get pending() {
      return this.outbox.size;
    }
    /** Starts (or joins) the connection; resolves at the welcome. */
    connect() {
      if (this.current === "closed") return Promise.reject(closedError());
      if (this.current === "active") return Promise.resolve();
      const welcomed = new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
      this.link.connect().catch(() => {
      });
      this.update();
      return welcomed;
    }
    /**
     * Queues a message for the server; it is sent at once when a session is active, otherwise
     * after the next welcome. False when the overflow policy refused it or the client is closed.
     */
    send(body) {
      if (this.current === "closed") return false;
      const { accepted, dropped } = this.outbox.push(body);
      if (dropped.length > 0) this.emit("dropped", dropped);
      if (!accepted) return false;
      if (this.welcomed) this.flushOutbox();
      else if (this.current === "idle") void this.connect().catch(() => {
      });
      return true;
    }
    /** The app is about to be suspended (Unity: OnApplicationPause(true)): tell the server. */
    pause() {
      if (!this.welcomed) return;
      this.inbound.flush();
      this.raw(encode({ type: "pausing" }));
    }
    /** The app runs again: tell the server now, and check or re-open the socket at once. */
    resume() {
      this.ping();
      this.link.setVisible(true);
    }
    /**
     * Stops for good. With `end` (the default) the server is told the session is over and forgets
     * it; without, the session stays resumable on the server for its resume window.
     */
    async close(options = {}) {
      if (this.current === "closed") return;
      if (options.end !== false && this.welcomed) {
        this.inbound.flush();
        this.raw(encode({ type: "end" }));
      }
      await this.stop("closed");
    }
    async stop(reason) {
      this.offline();
      this.set("closed");
      for (const off of this.teardown.splice(0)) off();
      for (const waiter of this.waiters.splice(0)) waiter.reject(closedError());
      this.emit("closed", { reason });
      await this.link.close(1e3, reason === "closed" ? "client closed" : "replaced");
    }
    onTransition(t) {
      var _a;
      if (this.current === "closed") return;
      if (t.to === "open") {
        const option = this.options.context;
        const context = typeof option === "function" ? option() : option;
        this.raw(
          encode(__spreadValues({
            type: "hello",
            version: PROTOCOL_VERSION,
            resumeToken: this.token,
            lastSeq: this.token ? this.inbound.lastSeq : 0
          }, context !== void 0 && { context }))
        );
        const ms = (_a = this.options.welcomeTimeoutMs) != null ? _a : 1e4;
        this.welcomeTimer = this.clock.setTimeout(() => this.link.declareDead("no welcome"), ms);
      } else if (t.to !== "ready") {
        this.offline();
        if (t.cause.type === "close") this.onClose(t.cause.code);
      }
      this.update();
    }
    /** What each close code of the protocol asks of the client (docs/session-protocol.md). */
    onClose(code) {
      const again = () => queueMicrotask(() => this.link.retryNow());
      switch (code) {
        case CloseCode.BadResumeToken:
        case CloseCode.SessionExpired:
          this.forgotten = code === CloseCode.SessionExpired ? "expired" : "bad-token";
          this.token = null;
          return again();
        case CloseCode.AppSilent:
          return again();
        case CloseCode.Replaced:
          queueMicrotask(() => void this.stop("replaced"));
      }
    }
    onFrame(text) {
      const parsed = parseServerFrame(text);
      if (!parsed.ok) return this.link.declareDead(`bad frame: ${parsed.reason}`);
      const frame2 = parsed.frame;
      if (frame2.type === "welcome") return this.onWelcome(frame2);
      if (!this.welcomed) return this.link.declareDead(`${frame2.type} before the welcome`);
      switch (frame2.type) {
        case "data": {
          const verdict = this.inbound.receive(frame2.seq);
          if (verdict === "gap") return this.link.declareDead("sequence gap");
          if (verdict === "new") {
            this.inbound.ack(frame2.seq);
            this.emit("message", frame2.body, { seq: frame2.seq });
          }
          return;
        }
        case "ack":
          return this.outbox.ack(frame2.seq);
        case "pong":
          return;
      }
    }
    onWelcome(w) {
      var _a, _b, _c;
      if (this.welcomed) return this.link.declareDead("second welcome");
      this.clock.clearTimeout(this.welcomeTimer);
      const previous = this.id;
      let event;
      if (w.resumed && previous === w.sessionId) {
        this.outbox.ack(w.lastSeq);
        this.outbox.continueAfter(w.lastSeq);
        const missed = Math.max(0, w.replayFrom - 1 - this.inbound.lastSeq);
        this.inbound.reset(Math.max(this.inbound.lastSeq, w.replayFrom - 1));
        const resend = this.outbox.unacked();
        for (const frame2 of resend) this.raw(frame2);
        event = ["resumed", { sessionId: w.sessionId, resent: resend.length, missed }];
      } else {
        const undelivered = previous ? this.outbox.drain() : [];
        this.inbound.reset(0);
        const reason = (_b = this.forgotten) != null ? _b : w.resumed ? "unknown" : (_a = w.reason) != null ? _a : "new";
        event = [
          "newSession",
          { sessionId: w.sessionId, reason, previousSessionId: previous, undelivered }
        ];
      }
      this.id = w.sessionId;
      this.token = w.resumeToken;
      this.forgotten = void 0;
      this.welcomed = true;
      this.flushOutbox();
      this.pingEvery = (_c = this.options.heartbeatMs) != null ? _c : w.heartbeatMs;
      this.schedulePing();
      this.link.markReady();
      this.update();
      for (const waiter of this.waiters.splice(0)) waiter.resolve();
      if (event[0] === "resumed") this.emit("resumed", event[1]);
      else this.emit("newSession", event[1]);
    }
    flushOutbox() {
      for (const frame2 of this.outbox.takeUnsent()) this.raw(frame2);
    }
    ping() {
      if (this.welcomed) this.raw(encode({ type: "ping" }));
    }
    /** The app heartbeat runs on the app's own timers: a paused app stops sending it. */
    schedulePing() {
      this.clock.clearTimeout(this.pingTimer);
      if (this.pingEvery <= 0) return;
      this.pingTimer = this.clock.setTimeout(() => {
        this.ping();
        this.schedulePing();
      }, this.pingEvery);
    }
    /** The socket is gone: everything tied to it goes with it. */
    offline() {
      this.welcomed = false;
      this.clock.clearTimeout(this.welcomeTimer);
      this.clock.clearTimeout(this.pingTimer);
      this.welcomeTimer = this.pingTimer = void 0;
      this.inbound.stop();
    }
    raw(text) {
      this.link.send(text);
    }
    update() {
      if (this.current === "closed") return;
      const name = this.link.status.name;
      this.set(
        this.welcomed ? "active" : name === "open" ? "handshaking" : name === "disabled" ? "idle" : "connecting"
      );
    }
    set(next) {
      const from = this.current;
      if (from === next) return;
      this.current = next;
      this.emit("state", next, from);
    }
  };
  var closedError = () => new SessionError("SESSION_CLOSED", "session client closed");
  return __toCommonJS(index_exports);
})();
