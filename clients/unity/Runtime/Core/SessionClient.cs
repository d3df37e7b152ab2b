using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Tether.Session
{
    /// <summary>
    /// A resumable session over one WebSocket at a time (docs/session-protocol.md), the C# twin of
    /// the TypeScript client in packages/session/src/client.ts.
    ///
    ///   Idle ──Send/ConnectAsync──▶ Connecting ──open, hello──▶ Handshaking ──welcome──▶ Active
    ///    ▲                              ▲                              │                      │
    ///    │                              └── at once, or after a backoff ◀── loss ─────────────┘
    ///    └──────────────── close 1000 ◀──── (what each close code asks: CloseCodes.cs)
    ///   any ──CloseAsync / Dispose / close 4409──▶ Closed
    ///
    /// Threads: the public members only change state under one lock and signal the connection
    /// loop, a single task that owns the socket (so any number of callers cause one connection).
    /// Timers (heartbeat, acks, welcome timeout, watchdog) run on the thread pool. No lock is held
    /// while awaiting or while events run; events leave through one ordered queue to Dispatch.
    /// </summary>
    public sealed partial class SessionClient : ISessionClient
    {
        /// <summary>How long a polite close waits for the server's answer before cutting the socket.</summary>
        internal int CloseGraceMs = 2000;

        private readonly object gate = new object();
        private readonly Uri url;
        private readonly IDictionary<string, string> headers;
        private readonly SessionClientOptions options;
        private readonly ISessionStore store;
        private readonly Func<IWebSocket> socketFactory;
        private readonly Func<double> random;
        private readonly Action<Action> dispatch;
        private readonly Action<string> logSink;
        private readonly Outbox outbox;
        private readonly Inbound inbound;
        private readonly Backoff backoff;
        private readonly TimerSet timers;
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly CancellationTokenSource lifetime = new CancellationTokenSource();
        private readonly Queue<Action> effects = new Queue<Action>();
        private readonly List<TaskCompletionSource<bool>> waiters = new List<TaskCompletionSource<bool>>();
        private readonly object storeGate = new object();

        // Guarded by gate:
        private SessionState state = SessionState.Idle;
        private string sessionId;
        private string resumeToken;
        /// <summary>Set when a close told us to forget the token: why the next welcome is not a resume.</summary>
        private NewSessionReason? forgotten;
        private bool wanted;
        private bool retryNow;
        private bool closing;
        private bool welcomed;
        private bool draining;
        private int failures;
        private int generation;
        private Connection current;
        private Task loop;
        private Task closeTask;
        private TaskCompletionSource<bool> wake = NewSignal();
        private long storeVersion;

        // Guarded by storeGate:
        private long storeDone;

        public SessionClient(SessionClientOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            if (options.Url == null) throw new ArgumentException("SessionClientOptions.Url is required", "options");
            if (options.Url.Scheme != "ws" && options.Url.Scheme != "wss")
                throw new ArgumentException("SessionClientOptions.Url must be ws:// or wss://", "options");
            if (options.MaxMessages < 1 || options.MaxBytes < 1)
                throw new ArgumentException("MaxMessages and MaxBytes must be positive", "options");
            this.options = options;
            url = options.Url;
            headers = options.Headers == null
                ? new Dictionary<string, string>()
                : new Dictionary<string, string>(options.Headers);
            store = options.Store;
            socketFactory = options.SocketFactory ?? (() => new ClientWebSocketAdapter());
            dispatch = options.Dispatch;
            logSink = options.Log;
            if (options.Random != null)
            {
                random = options.Random;
            }
            else
            {
                var system = new Random();
                random = () => { lock (system) return system.NextDouble(); };
            }
            timers = new TimerSet(Log);
            outbox = new Outbox(options.MaxMessages, options.MaxBytes, options.Overflow);
            inbound = new Inbound(options.AckDelayMs, options.AckEvery, SendAck, ArmAck);
            backoff = new Backoff(options.FirstRetryMaxMs, options.RetryBaseMs, options.RetryCapMs);
            LoadStored();
        }

        public event Action<JToken, long> Message;
        public event Action<ResumedEventArgs> Resumed;
        public event Action<NewSessionEventArgs> NewSession;
        public event Action<SessionState, SessionState> StateChanged;
        public event Action<IList<JToken>> Dropped;
        public event Action<ClosedReason> Closed;

        public SessionState State
        {
            get { lock (gate) return state; }
        }

        public string SessionId
        {
            get { lock (gate) return sessionId; }
        }

        public int Pending
        {
            get { lock (gate) return outbox.Count; }
        }

        /// <summary>The connection loop, for tests: done once the client is closed.</summary>
        internal Task LoopTask
        {
            get { lock (gate) return loop ?? Task.FromResult(true); }
        }

        /// <summary>Timers alive, for tests: 0 once the client is closed.</summary>
        internal int LiveTimers
        {
            get { return timers.Live; }
        }

        public Task ConnectAsync()
        {
            Task task;
            lock (gate)
            {
                if (closing) return Failed(new InvalidOperationException("the session client is closed"));
                if (state == SessionState.Active) return Task.FromResult(true);
                var waiter = NewSignal();
                waiters.Add(waiter);
                task = waiter.Task;
                Want();
            }
            Flush();
            return task;
        }

        public bool Send(JToken body)
        {
            string json = Frames.Body(body);
            bool accepted;
            lock (gate)
            {
                if (closing) return false;
                List<string> dropped;
                accepted = outbox.Push(json, out dropped);
                if (dropped != null && dropped.Count > 0)
                    Post(() => Raise(Dropped, (IList<JToken>)dropped.ConvertAll(Frames.ParseJson)));
                if (accepted)
                {
                    if (welcomed) SendUnsent();
                    else Want();
                }
            }
            Flush();
            return accepted;
        }

        public void Pause()
        {
            StoreOp op;
            lock (gate)
            {
                if (closing) return;
                if (welcomed)
                {
                    inbound.Flush();
                    current.Enqueue(Frames.Pausing);
                }
                op = SaveOp();
            }
            // On the caller's thread: a mobile app may be frozen as soon as this returns.
            RunStore(op);
        }

        public void Resume()
        {
            Connection silent = null;
            lock (gate)
            {
                if (closing) return;
                if (welcomed)
                {
                    current.Enqueue(Frames.Ping);
                    long quiet = Now - current.LastHeardMs;
                    if (current.DeadAfterMs > 0 && quiet >= current.DeadAfterMs) silent = current;
                    else ArmCheck(current);
                }
                else if (wanted && current == null)
                {
                    // Waiting out a backoff: the app is back, try now.
                    retryNow = true;
                    Signal();
                }
            }
            if (silent != null && silent.Drop("no frame for " + (Now - silent.LastHeardMs) + " ms when the app came back", true))
                Log("the socket was silent when the app came back: reconnecting at once");
        }

        public Task CloseAsync(bool end = true)
        {
            lock (gate)
            {
                if (closeTask != null) return closeTask;
                if (state == SessionState.Closed) return Task.FromResult(true);
                closing = true;
                wanted = false;
                Connection conn = current;
                bool polite = conn != null && conn.Open;
                if (polite)
                {
                    if (welcomed && end)
                    {
                        inbound.Flush();
                        conn.Enqueue(Frames.End);
                    }
                    conn.EnqueueClose(CloseCodes.Normal, "client closed");
                }
                // After "end" the server forgets the session, so a stored token would only buy the
                // next launch a NewSession(Expired) instead of New.
                StoreOp op = end ? ClearOp() : SaveOp();
                Signal();
                closeTask = CloseCoreAsync(conn, polite, loop, op);
                return closeTask;
            }
        }

        public void Dispose()
        {
            Connection conn;
            StoreOp op = null;
            lock (gate)
            {
                if (state == SessionState.Closed) return;
                if (!closing) op = SaveOp();
                closing = true;
                wanted = false;
                conn = current;
                Signal();
            }
            RunStore(op);
            lifetime.Cancel();
            if (conn != null) conn.Drop("client disposed");
            Finish(ClosedReason.Closed);
        }

        private async Task CloseCoreAsync(Connection conn, bool polite, Task loopTask, StoreOp op)
        {
            RunStore(op);
            // The sender puts "end" and the close frame on the wire; the loop ends when the
            // server's close answers ours. A server that does not answer is cut after the grace.
            if (polite && loopTask != null) await Bounded(loopTask, CloseGraceMs).ConfigureAwait(false);
            lifetime.Cancel();
            if (conn != null) conn.Drop("client closed");
            if (loopTask != null && !await Bounded(loopTask, CloseGraceMs).ConfigureAwait(false))
                Log("the connection loop did not end within " + CloseGraceMs + " ms of the close");
            Finish(ClosedReason.Closed);
        }

        /// <summary>The one way to Closed: state, events, waiters, timers.</summary>
        private void Finish(ClosedReason reason)
        {
            List<TaskCompletionSource<bool>> failed;
            lock (gate)
            {
                if (state == SessionState.Closed) return;
                closing = true;
                wanted = false;
                SetState(SessionState.Closed);
                Post(() => Raise(Closed, reason));
                failed = new List<TaskCompletionSource<bool>>(waiters);
                waiters.Clear();
            }
            lifetime.Cancel();
            timers.DisposeAll();
            var error = new InvalidOperationException(
                reason == ClosedReason.Replaced ? "the session was taken over by another connection" : "the session client is closed");
            foreach (var waiter in failed) waiter.TrySetException(error);
            Flush();
        }

        // ---- state, effects, store ------------------------------------------------------------

        private long Now
        {
            get { return clock.ElapsedMilliseconds; }
        }

        /// <summary>Under gate: a connection is wanted; the loop starts or joins it.</summary>
        private void Want()
        {
            if (closing) return;
            wanted = true;
            if (state == SessionState.Idle) SetState(SessionState.Connecting);
            if (loop == null) loop = Task.Run(() => RunAsync());
            Signal();
        }

        /// <summary>Under gate: wakes the loop wherever it waits.</summary>
        private void Signal()
        {
            TaskCompletionSource<bool> woken = wake;
            wake = NewSignal();
            woken.TrySetResult(true);
        }

        /// <summary>Under gate.</summary>
        private void SetState(SessionState next)
        {
            SessionState from = state;
            if (from == next) return;
            state = next;
            Post(() => Raise(StateChanged, next, from));
        }

        /// <summary>Under gate: numbers what is queued and puts it on the socket.</summary>
        private void SendUnsent()
        {
            foreach (string frame in outbox.TakeUnsent()) current.Enqueue(frame);
        }

        /// <summary>Under gate: an event, in the order things happened.</summary>
        private void Post(Action effect)
        {
            effects.Enqueue(effect);
        }

        /// <summary>
        /// Hands the queued events to Dispatch, one at a time and in order, outside the lock. One
        /// thread drains at a time; another thread's events join its queue, so a handler that runs
        /// inline and calls Send cannot overtake the event it is handling.
        /// </summary>
        private void Flush()
        {
            lock (gate)
            {
                if (draining) return;
                draining = true;
            }
            while (true)
            {
                Action next;
                lock (gate)
                {
                    if (effects.Count == 0)
                    {
                        draining = false;
                        return;
                    }
                    next = effects.Dequeue();
                }
                try
                {
                    if (dispatch != null) dispatch(next);
                    else next();
                }
                catch (Exception e)
                {
                    Log("an event handler or Dispatch threw: " + e);
                }
            }
        }

        private static void Raise<T>(Action<T> handler, T value)
        {
            if (handler != null) handler(value);
        }

        private static void Raise<T1, T2>(Action<T1, T2> handler, T1 a, T2 b)
        {
            if (handler != null) handler(a, b);
        }

        private void Log(string message)
        {
            Action<string> sink = logSink;
            if (sink == null) return;
            try
            {
                sink("[tether] " + message);
            }
            catch (Exception)
            {
                // A failing logger must not take the connection with it.
            }
        }

        private sealed class StoreOp
        {
            public long Version;
            /// <summary>null: Clear.</summary>
            public StoredSession Session;
        }

        /// <summary>Under gate: what to save now (null without a store or a session).</summary>
        private StoreOp SaveOp()
        {
            if (store == null || sessionId == null || resumeToken == null) return null;
            var session = new StoredSession { SessionId = sessionId, ResumeToken = resumeToken, LastSeq = inbound.LastSeq };
            return new StoreOp { Version = ++storeVersion, Session = session };
        }

        private StoreOp ClearOp()
        {
            return store == null ? null : new StoreOp { Version = ++storeVersion };
        }

        /// <summary>
        /// Outside gate: store calls may touch the disk. Operations are numbered under the lock,
        /// so one that lost a race to a newer one is skipped rather than writing stale state.
        /// </summary>
        private void RunStore(StoreOp op)
        {
            if (op == null) return;
            lock (storeGate)
            {
                if (op.Version <= storeDone) return;
                storeDone = op.Version;
                try
                {
                    if (op.Session == null) store.Clear();
                    else store.Save(op.Session);
                }
                catch (Exception e)
                {
                    Log("the session store failed: " + e.Message);
                }
            }
        }

        private void LoadStored()
        {
            if (store == null) return;
            StoredSession stored;
            try
            {
                stored = store.Load();
            }
            catch (Exception e)
            {
                Log("the session store could not be read: " + e.Message);
                return;
            }
            if (stored == null || string.IsNullOrEmpty(stored.SessionId)) return;
            // A stored session counts as the previous one: its id is what a new session replaces.
            sessionId = stored.SessionId;
            if (!string.IsNullOrEmpty(stored.ResumeToken))
            {
                resumeToken = stored.ResumeToken;
                inbound.Reset(Math.Max(0, stored.LastSeq));
            }
        }

        private static TaskCompletionSource<bool> NewSignal()
        {
            // Completed under the lock: continuations must not run inline there.
            return new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        private static Task Failed(Exception error)
        {
            var failed = NewSignal();
            failed.TrySetException(error);
            return failed.Task;
        }

        /// <summary>True when the task ended within ms; the delay's timer never outlives the wait.</summary>
        private static async Task<bool> Bounded(Task task, int ms)
        {
            using (var cancel = new CancellationTokenSource())
            {
                Task first = await Task.WhenAny(task, Task.Delay(ms, cancel.Token)).ConfigureAwait(false);
                cancel.Cancel();
                return first == task;
            }
        }
    }
}
