using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Tether.Session
{
    public sealed partial class SessionClient
    {
        /// <summary>How a socket ended.</summary>
        private sealed class Loss
        {
            /// <summary>The server's close code, or null when the socket failed or we cut it.</summary>
            public int? Code;
            public string Reason;
            public bool AtOnce;
        }

        /// <summary>
        /// The connection loop: the only code that opens sockets, so any number of Send, ConnectAsync
        /// and Resume calls from any thread make at most one connection at a time.
        ///
        ///   wait until wanted ─▶ one socket (connect, hello, welcome, frames…) ─▶ loss
        ///          ▲                                                                 │
        ///          └──── at once, after a backoff, or idle (1000) ◀── close code ────┘
        ///
        /// Runs on the thread pool with ConfigureAwait(false) throughout: nothing here waits for
        /// a Unity main thread.
        /// </summary>
        private async Task RunAsync()
        {
            while (true)
            {
                try
                {
                    Task signal = null;
                    lock (gate)
                    {
                        if (closing) return;
                        if (!wanted) signal = wake.Task;
                        retryNow = false;
                    }
                    if (signal != null)
                    {
                        await WaitAsync(signal, Timeout.Infinite).ConfigureAwait(false);
                        continue;
                    }
                    Loss loss = await RunSocketAsync().ConfigureAwait(false);
                    int delay;
                    if (!AfterLoss(loss, out delay)) return;
                    if (delay > 0) await BackoffAsync(delay).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    if (lifetime.IsCancellationRequested) return;
                    // A bug must not leave the app without a connection: say so, and go round again
                    // after a backoff.
                    Log("the connection loop failed: " + e);
                    int n;
                    lock (gate) n = ++failures;
                    await BackoffAsync(backoff.Delay(n, random())).ConfigureAwait(false);
                }
            }
        }

        /// <summary>What the close code table says (CloseCodes); false when the loop is over.</summary>
        private bool AfterLoss(Loss loss, out int delay)
        {
            delay = 0;
            StoreOp op = null;
            bool stop = false;
            List<TaskCompletionSource<bool>> idle = null;
            lock (gate)
            {
                if (closing) return false;
                CloseAction action = loss.Code.HasValue ? CloseCodes.ActionFor(loss.Code.Value) : CloseAction.Backoff;
                switch (action)
                {
                    case CloseAction.Stay:
                        wanted = false;
                        failures = 0;
                        SetState(SessionState.Idle);
                        idle = new List<TaskCompletionSource<bool>>(waiters);
                        waiters.Clear();
                        break;
                    case CloseAction.Stop:
                        // Coming back would take the session from the connection that replaced us,
                        // which would come back for it in turn.
                        stop = true;
                        break;
                    case CloseAction.ForgetAndRetryAtOnce:
                        forgotten = loss.Code == CloseCodes.SessionExpired ? NewSessionReason.Expired : NewSessionReason.BadToken;
                        resumeToken = null;
                        op = ClearOp();
                        delay = FailureDelay(true);
                        break;
                    case CloseAction.RetryAtOnce:
                        delay = FailureDelay(true);
                        break;
                    case CloseAction.RetryAfterLongWait:
                        failures++;
                        delay = backoff.LongWait(random());
                        break;
                    default:
                        delay = FailureDelay(loss.AtOnce);
                        break;
                }
                if (!stop && action != CloseAction.Stay) SetState(SessionState.Connecting);
            }
            RunStore(op);
            if (idle != null)
            {
                var error = new InvalidOperationException("the server ended the session (1000)");
                foreach (var waiter in idle) waiter.TrySetException(error);
            }
            Flush();
            if (stop)
            {
                Finish(ClosedReason.Replaced);
                return false;
            }
            if (delay > 0) Log("reconnecting in " + delay + " ms");
            return true;
        }

        /// <summary>
        /// Under gate. "At once" holds for the first failure of a run only: a server that closes
        /// 4401 again and again, or a socket that dies as soon as it opens, gets the backoff.
        /// </summary>
        private int FailureDelay(bool atOnce)
        {
            failures++;
            if (atOnce && failures == 1) return 0;
            return backoff.Delay(failures, random());
        }

        /// <summary>Waits out a retry delay; Resume() cuts it short, closing ends it.</summary>
        private async Task BackoffAsync(int delayMs)
        {
            long until = Now + delayMs;
            while (true)
            {
                Task signal;
                lock (gate)
                {
                    if (closing) return;
                    if (retryNow)
                    {
                        retryNow = false;
                        return;
                    }
                    signal = wake.Task;
                }
                long left = until - Now;
                if (left <= 0) return;
                await WaitAsync(signal, (int)Math.Min(left, int.MaxValue)).ConfigureAwait(false);
            }
        }

        /// <summary>Until the signal, the time, or the end of the client.</summary>
        private async Task WaitAsync(Task signal, int ms)
        {
            using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Token))
            {
                Task delay = Task.Delay(ms, cancel.Token);
                await Task.WhenAny(signal, delay).ConfigureAwait(false);
                cancel.Cancel();
            }
        }

        /*
         * One socket, from connect to loss (docs/session-protocol.md §3):
         *
         *   client                                   server
         *     |--- WebSocket upgrade ------------------>|   bounded by ConnectTimeoutMs
         *     |--- hello {resumeToken, lastSeq} ------->|   nothing else before the welcome
         *     |<-- welcome {resumed, lastSeq, ...} -----|   bounded by WelcomeTimeoutMs
         *     |--- data (unacked again, then queued) -->|
         *     |<-> data, ack, ping/pong ...             |   until a close, an error or a drop
         *
         * A ReceiveAsync is pending the whole time the socket is open: ClientWebSocket answers
         * the server's ping frames only while one is.
         */
        private async Task<Loss> RunSocketAsync()
        {
            IWebSocket socket;
            try
            {
                socket = socketFactory();
                if (socket == null) throw new InvalidOperationException("SocketFactory returned null");
            }
            catch (Exception e)
            {
                return new Loss { Reason = "the socket factory failed: " + e.Message };
            }
            Connection conn;
            lock (gate)
            {
                if (closing)
                {
                    socket.Dispose();
                    return new Loss { Reason = "closing" };
                }
                conn = new Connection(socket, ++generation, Log);
                current = conn;
                welcomed = false;
                SetState(SessionState.Connecting);
            }
            Flush();
            try
            {
                string failure = await ConnectSocketAsync(conn).ConfigureAwait(false);
                if (failure != null)
                {
                    var failed = new Loss { Reason = failure };
                    LogLoss(failed);
                    return failed;
                }
                lock (gate)
                {
                    if (closing) return new Loss { Reason = "closing" };
                    conn.Open = true;
                    conn.LastHeardMs = Now;
                    SetState(SessionState.Handshaking);
                    // Read at every hello, so the app may change it for the next connection.
                    conn.Enqueue(Frames.Hello(resumeToken, resumeToken != null ? inbound.LastSeq : 0, options.Context));
                    int ms = options.WelcomeTimeoutMs;
                    conn.WelcomeTimer = timers.Create("welcome", () => OnWelcomeTimeout(conn, ms));
                    conn.WelcomeTimer.Arm(ms);
                }
                Flush();
                conn.StartSender();
                return await ReceiveLoopAsync(conn).ConfigureAwait(false);
            }
            finally
            {
                lock (gate)
                {
                    if (current == conn)
                    {
                        current = null;
                        welcomed = false;
                        inbound.Stop();
                    }
                }
                conn.Stop();
            }
        }

        /// <summary>null when open; otherwise why not.</summary>
        private async Task<string> ConnectSocketAsync(Connection conn)
        {
            using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(conn.Token))
            {
                attempt.CancelAfter(Math.Max(1, options.ConnectTimeoutMs));
                try
                {
                    await conn.Socket.ConnectAsync(url, headers, attempt.Token).ConfigureAwait(false);
                    return null;
                }
                catch (Exception e)
                {
                    if (conn.DropReason != null) return conn.DropReason;
                    if (attempt.IsCancellationRequested && !conn.Token.IsCancellationRequested)
                        return "connect timed out after " + options.ConnectTimeoutMs + " ms";
                    return "connect failed: " + Describe(e);
                }
            }
        }

        private async Task<Loss> ReceiveLoopAsync(Connection conn)
        {
            while (true)
            {
                WebSocketFrame frame;
                try
                {
                    frame = await conn.Socket.ReceiveAsync(conn.Token).ConfigureAwait(false);
                    if (frame == null) throw new InvalidOperationException("ReceiveAsync returned no frame");
                }
                catch (Exception e)
                {
                    string dropped = conn.DropReason;
                    Loss loss = dropped != null
                        ? new Loss { Reason = dropped, AtOnce = conn.DropAtOnce }
                        : new Loss { Reason = "receive failed: " + Describe(e) };
                    LogLoss(loss);
                    return loss;
                }
                if (frame.IsClose)
                {
                    var closed = new Loss { Code = frame.CloseCode, Reason = frame.CloseReason };
                    LogLoss(closed);
                    return closed;
                }
                string problem;
                StoreOp op;
                lock (gate) problem = OnFrame(conn, frame, out op);
                RunStore(op);
                Flush();
                if (problem != null)
                {
                    // A hostile or broken frame costs the socket, never the loop.
                    conn.Drop(problem);
                    var loss = new Loss { Reason = problem };
                    LogLoss(loss);
                    return loss;
                }
            }
        }

        /// <summary>Under gate. Returns why the socket must be dropped, or null.</summary>
        private string OnFrame(Connection conn, WebSocketFrame frame, out StoreOp op)
        {
            op = null;
            conn.LastHeardMs = Now;
            if (conn != current) return null;
            if (frame.IsBinary) return "a binary frame";
            ServerFrame f;
            string error;
            if (!Frames.TryParseServer(frame.Text, out f, out error)) return "bad frame: " + error;
            if (f.Type == ServerFrameType.Welcome) return OnWelcome(conn, f, out op);
            if (!welcomed) return f.Type.ToString().ToLowerInvariant() + " before the welcome";
            switch (f.Type)
            {
                case ServerFrameType.Data:
                {
                    Verdict verdict = inbound.Receive(f.Seq);
                    if (verdict == Verdict.Gap)
                        return "sequence gap: expected " + (inbound.LastSeq + 1) + ", got " + f.Seq;
                    if (verdict == Verdict.New)
                    {
                        inbound.Ack(f.Seq);
                        long seq = f.Seq;
                        var body = f.Body;
                        Post(() => Raise(Message, body, seq));
                    }
                    return null;
                }
                case ServerFrameType.Ack:
                    outbox.Ack(f.Seq);
                    return null;
                default:
                    return null;
            }
        }

        /// <summary>Under gate: the welcome, as docs/session-protocol.md §9 lists it.</summary>
        private string OnWelcome(Connection conn, ServerFrame w, out StoreOp op)
        {
            op = null;
            if (welcomed) return "a second welcome";
            conn.WelcomeTimer.Disarm();
            string previous = sessionId;
            Action announce;
            if (w.Resumed && previous == w.SessionId)
            {
                outbox.Ack(w.LastSeq);
                outbox.ContinueAfter(w.LastSeq);
                long missed = Math.Max(0, w.ReplayFrom - 1 - inbound.LastSeq);
                inbound.Reset(Math.Max(inbound.LastSeq, w.ReplayFrom - 1));
                List<string> resend = outbox.Unacked();
                foreach (string frame in resend) conn.Enqueue(frame);
                var args = new ResumedEventArgs { SessionId = w.SessionId, Resent = resend.Count, Missed = missed };
                announce = () => Raise(Resumed, args);
            }
            else
            {
                // A first session takes what was queued for it; a replacement must not receive
                // messages meant for a conversation it knows nothing of: they go back to the app.
                List<string> undelivered = previous != null ? outbox.Drain() : new List<string>();
                inbound.Reset(0);
                NewSessionReason reason = forgotten ?? (w.Resumed ? NewSessionReason.Unknown : ReasonOf(w.Reason));
                var args = new NewSessionEventArgs
                {
                    SessionId = w.SessionId,
                    Reason = reason,
                    PreviousSessionId = previous,
                    Undelivered = undelivered.ConvertAll(Frames.ParseJson),
                };
                announce = () => Raise(NewSession, args);
            }
            sessionId = w.SessionId;
            resumeToken = w.ResumeToken;
            forgotten = null;
            welcomed = true;
            failures = 0;
            SendUnsent();
            StartHeartbeat(conn, w);
            SetState(SessionState.Active);
            foreach (var waiter in waiters) waiter.TrySetResult(true);
            waiters.Clear();
            Post(announce);
            op = SaveOp();
            return null;
        }

        private static NewSessionReason ReasonOf(string reason)
        {
            switch (reason)
            {
                case null:
                case "new":
                    return NewSessionReason.New;
                case "expired":
                    return NewSessionReason.Expired;
                case "bad-token":
                    return NewSessionReason.BadToken;
                default:
                    return NewSessionReason.Unknown;
            }
        }

        // ---- timers: all on the thread pool, each checks it still speaks for the current socket --

        /// <summary>Under gate: the app ping and the watchdog, from the welcome on.</summary>
        private void StartHeartbeat(Connection conn, ServerFrame w)
        {
            int every = options.HeartbeatMs ?? (int)Math.Min(w.HeartbeatMs, int.MaxValue);
            conn.HeartbeatMs = every;
            conn.DeadAfterMs = options.DeadAfterMs > 0 ? options.DeadAfterMs : (int)Math.Min(2L * every, int.MaxValue);
            if (every > 0)
            {
                conn.HeartbeatTimer = timers.Create("heartbeat", () => OnHeartbeat(conn));
                conn.HeartbeatTimer.Every(every);
            }
            if (conn.DeadAfterMs > 0)
            {
                conn.Watchdog = timers.Create("watchdog", () => OnWatchdog(conn));
                conn.Watchdog.Arm(conn.DeadAfterMs);
            }
        }

        private void OnHeartbeat(Connection conn)
        {
            lock (gate)
            {
                if (conn == current && welcomed) conn.Enqueue(Frames.Ping);
            }
        }

        /// <summary>Re-arms for the rest of the window rather than on every frame.</summary>
        private void OnWatchdog(Connection conn)
        {
            long quiet;
            lock (gate)
            {
                if (conn != current) return;
                quiet = Now - conn.LastHeardMs;
                if (quiet < conn.DeadAfterMs)
                {
                    conn.Watchdog.Arm((int)(conn.DeadAfterMs - quiet));
                    return;
                }
            }
            if (conn.Drop("no frame from the server for " + quiet + " ms")) Log("the server went silent: dropping the socket");
        }

        private void OnWelcomeTimeout(Connection conn, int ms)
        {
            lock (gate)
            {
                if (conn != current || welcomed) return;
            }
            conn.Drop("no welcome within " + ms + " ms");
        }

        /// <summary>Under gate: after Resume's ping, the server must be heard from within a heartbeat.</summary>
        private void ArmCheck(Connection conn)
        {
            long since = conn.LastHeardMs;
            int within = conn.HeartbeatMs > 0 ? conn.HeartbeatMs : 5000;
            // One check at a time: the one under way asks the same question.
            if (conn.CheckTimer != null) return;
            conn.CheckTimer = timers.Create("check", () => OnCheck(conn, since, within));
            conn.CheckTimer.Arm(within);
        }

        private void OnCheck(Connection conn, long since, int within)
        {
            lock (gate)
            {
                if (conn != current) return;
                OwnedTimer check = conn.CheckTimer;
                conn.CheckTimer = null;
                if (check != null) check.Dispose();
                if (conn.LastHeardMs > since) return;
            }
            if (conn.Drop("no answer within " + within + " ms of the app coming back", true))
                Log("the socket did not answer when the app came back: reconnecting at once");
        }

        /// <summary>Inbound's callback, under gate.</summary>
        private void SendAck(long seq)
        {
            if (current != null && welcomed) current.Enqueue(Frames.Ack(seq));
        }

        /// <summary>Inbound's callback, under gate.</summary>
        private void ArmAck(int ms)
        {
            Connection conn = current;
            if (conn == null) return;
            if (conn.AckTimer == null) conn.AckTimer = timers.Create("ack", () => OnAckTimer(conn));
            conn.AckTimer.Arm(ms);
        }

        private void OnAckTimer(Connection conn)
        {
            lock (gate)
            {
                if (conn == current && welcomed) inbound.OnTimer();
            }
        }

        private void LogLoss(Loss loss)
        {
            if (loss.Code.HasValue)
            {
                string reason = string.IsNullOrEmpty(loss.Reason) ? "" : ": " + Truncate(loss.Reason);
                Log("the server closed the socket: " + loss.Code + " (" + CloseCodes.Describe(loss.Code.Value) + ")" + reason);
            }
            else
            {
                Log("socket lost: " + loss.Reason);
            }
        }

        private static string Describe(Exception e)
        {
            Exception inner = e;
            while (inner is AggregateException && inner.InnerException != null) inner = inner.InnerException;
            return inner.GetType().Name + ": " + inner.Message;
        }

        private static string Truncate(string text)
        {
            return text.Length > 200 ? text.Substring(0, 200) + "…" : text;
        }
    }
}
