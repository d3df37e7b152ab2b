using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Tether.Session.Tests
{
    /// <summary>
    /// A scripted session server behind fake sockets: no network, no Unity. By default it plays a
    /// well-behaved server (docs/session-protocol.md): a hello without a token gets a new session,
    /// a hello with a token it issued gets a resume, data is stored in order, pings get pongs.
    /// Tests change Answer, CloseOnHello and the connect knobs to stage what they need.
    /// </summary>
    internal sealed class FakeServer
    {
        private readonly object gate = new object();
        private readonly List<FakeSocket> sockets = new List<FakeSocket>();
        private readonly List<long> connectTimes = new List<long>();
        private readonly Dictionary<string, string> tokens = new Dictionary<string, string>();
        private readonly Dictionary<string, long> stored = new Dictionary<string, long>();
        private int sessions;
        private int tokenCount;
        private int connectCalls;

        public readonly Stopwatch Clock = Stopwatch.StartNew();

        /// <summary>hello → welcome (null: no answer). Default: the simulated server.</summary>
        public Func<JObject, JObject> Answer;
        /// <summary>Non-zero: every hello is answered with this close code.</summary>
        public int CloseOnHello;
        public bool AutoPong = true;
        public bool EchoClose = true;
        public int ConnectDelayMs;
        public bool HangConnect;
        public bool FailConnect;
        public int HeartbeatMs = 10000;

        public FakeServer()
        {
            Answer = Simulate;
        }

        public Func<IWebSocket> Factory
        {
            get { return () => new FakeSocket(this); }
        }

        public int ConnectCalls
        {
            get { lock (gate) return connectCalls; }
        }

        public int SocketCount
        {
            get { lock (gate) return sockets.Count; }
        }

        public long[] ConnectTimes
        {
            get { lock (gate) return connectTimes.ToArray(); }
        }

        /// <summary>The n-th socket the client connected (0-based), waiting for it if need be.</summary>
        public FakeSocket Socket(int n, int timeoutMs = 3000)
        {
            Wait.Until(() => SocketCount > n, timeoutMs, "socket #" + n + " to connect (" + SocketCount + " so far)");
            lock (gate) return sockets[n];
        }

        public FakeSocket Last
        {
            get { lock (gate) return sockets[sockets.Count - 1]; }
        }

        /// <summary>What the server has stored of a session's client messages (its welcome lastSeq).</summary>
        public long Stored(string sessionId)
        {
            lock (gate) return stored.ContainsKey(sessionId) ? stored[sessionId] : 0;
        }

        internal void Connected(FakeSocket socket)
        {
            lock (gate)
            {
                connectCalls++;
                connectTimes.Add(Clock.ElapsedMilliseconds);
                sockets.Add(socket);
            }
        }

        internal void OnClientFrame(FakeSocket socket, JObject frame)
        {
            string type = (string)frame["type"];
            if (type == "hello")
            {
                if (CloseOnHello != 0)
                {
                    socket.PushClose(CloseOnHello);
                    return;
                }
                JObject welcome = Answer(frame);
                if (welcome != null)
                {
                    socket.SessionId = (string)welcome["sessionId"];
                    socket.Push(welcome);
                }
            }
            else if (type == "ping" && AutoPong)
            {
                socket.Push(new JObject { { "type", "pong" } });
            }
            else if (type == "data" && socket.SessionId != null)
            {
                long seq = (long)frame["seq"];
                lock (gate)
                {
                    long have = stored.ContainsKey(socket.SessionId) ? stored[socket.SessionId] : 0;
                    if (seq == have + 1) stored[socket.SessionId] = seq;
                }
            }
        }

        /// <summary>A new session, or the resume of one whose token this server issued.</summary>
        public JObject Simulate(JObject hello)
        {
            string token = hello["resumeToken"].Type == JTokenType.String ? (string)hello["resumeToken"] : null;
            lock (gate)
            {
                string id;
                if (token != null && tokens.TryGetValue(token, out id))
                {
                    long lastSeq = stored.ContainsKey(id) ? stored[id] : 0;
                    return Welcome(id, true, lastSeq, (long)hello["lastSeq"] + 1, null, Issue(id));
                }
                id = "s" + (++sessions);
                return Welcome(id, false, 0, 1, token == null ? "new" : "unknown", Issue(id));
            }
        }

        /// <summary>Under gate.</summary>
        private string Issue(string id)
        {
            string token = id + ".t" + (++tokenCount);
            tokens[token] = id;
            return token;
        }

        /// <summary>Makes the server know a token (a session resumed from a store, say).</summary>
        public void Knows(string token, string sessionId, long storedLastSeq)
        {
            lock (gate)
            {
                tokens[token] = sessionId;
                stored[sessionId] = storedLastSeq;
            }
        }

        public JObject Welcome(string id, bool resumed, long lastSeq, long replayFrom, string reason, string token)
        {
            var w = new JObject
            {
                { "type", "welcome" }, { "version", 1 }, { "sessionId", id }, { "resumeToken", token },
                { "resumed", resumed }, { "lastSeq", lastSeq }, { "replayFrom", replayFrom },
                { "heartbeatMs", HeartbeatMs }, { "resumeWindowMs", 120000 },
            };
            if (!resumed) w["reason"] = reason ?? "new";
            return w;
        }
    }

    /// <summary>One fake socket: what the client sent, and a queue of what it will receive.</summary>
    internal sealed class FakeSocket : IWebSocket
    {
        private readonly object gate = new object();
        private readonly FakeServer server;
        private readonly Queue<WebSocketFrame> inbox = new Queue<WebSocketFrame>();
        private readonly List<string> sent = new List<string>();
        private TaskCompletionSource<WebSocketFrame> receiving;
        private int read;
        private int sending;
        private int maxConcurrentSends;
        private int pendingReceives;
        private bool cut;

        public FakeSocket(FakeServer server)
        {
            this.server = server;
        }

        /// <summary>Set by the server at its welcome.</summary>
        public string SessionId;
        public IDictionary<string, string> Headers;
        public Uri Url;

        public bool Aborted { get { lock (gate) return cut; } }
        public bool Disposed { get; private set; }
        public int? ClosedWith { get; private set; }
        public int MaxConcurrentSends { get { lock (gate) return maxConcurrentSends; } }
        public bool Receiving { get { lock (gate) return pendingReceives > 0; } }

        public async Task ConnectAsync(Uri url, IDictionary<string, string> headers, CancellationToken cancel)
        {
            Url = url;
            Headers = new Dictionary<string, string>(headers);
            server.Connected(this);
            if (server.HangConnect) await Task.Delay(Timeout.Infinite, cancel).ConfigureAwait(false);
            if (server.ConnectDelayMs > 0) await Task.Delay(server.ConnectDelayMs, cancel).ConfigureAwait(false);
            if (server.FailConnect) throw new IOException("connection refused (fake)");
        }

        public async Task SendAsync(string text, CancellationToken cancel)
        {
            lock (gate)
            {
                sending++;
                maxConcurrentSends = Math.Max(maxConcurrentSends, sending);
                if (cut) throw new IOException("the socket is closed (fake)");
                sent.Add(text);
            }
            try
            {
                // Truly asynchronous, as a network send is, so overlapping sends would show.
                await Task.Yield();
                server.OnClientFrame(this, JObject.Parse(text));
            }
            finally
            {
                lock (gate) sending--;
            }
        }

        public async Task<WebSocketFrame> ReceiveAsync(CancellationToken cancel)
        {
            TaskCompletionSource<WebSocketFrame> waiter;
            lock (gate)
            {
                if (inbox.Count > 0) return inbox.Dequeue();
                if (cut) throw new IOException("the socket was aborted (fake)");
                waiter = receiving = new TaskCompletionSource<WebSocketFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
                pendingReceives++;
            }
            try
            {
                using (cancel.Register(() => waiter.TrySetCanceled()))
                    return await waiter.Task.ConfigureAwait(false);
            }
            finally
            {
                lock (gate) pendingReceives--;
            }
        }

        public Task CloseAsync(int code, string reason, CancellationToken cancel)
        {
            ClosedWith = code;
            if (server.EchoClose) PushClose(code, reason);
            return Task.FromResult(true);
        }

        public void Abort()
        {
            TaskCompletionSource<WebSocketFrame> waiter;
            lock (gate)
            {
                cut = true;
                waiter = receiving;
                receiving = null;
            }
            if (waiter != null) waiter.TrySetException(new IOException("the socket was aborted (fake)"));
        }

        public void Dispose()
        {
            Disposed = true;
            Abort();
        }

        // ---- the server's side -----------------------------------------------------------------

        public void Push(JObject frame)
        {
            PushText(frame.ToString(Formatting.None));
        }

        public void PushText(string text)
        {
            Deliver(new WebSocketFrame { Text = text });
        }

        public void PushBinary()
        {
            Deliver(new WebSocketFrame { IsBinary = true });
        }

        public void PushClose(int code, string reason = "")
        {
            Deliver(new WebSocketFrame { IsClose = true, CloseCode = code, CloseReason = reason });
        }

        public void PushData(long seq, JToken body)
        {
            Push(new JObject { { "type", "data" }, { "seq", seq }, { "body", body } });
        }

        private void Deliver(WebSocketFrame frame)
        {
            TaskCompletionSource<WebSocketFrame> waiter;
            lock (gate)
            {
                if (cut) return;
                waiter = receiving;
                receiving = null;
                if (waiter == null) inbox.Enqueue(frame);
            }
            if (waiter != null) waiter.TrySetResult(frame);
        }

        /// <summary>Everything the client sent on this socket, parsed.</summary>
        public List<JObject> Sent
        {
            get
            {
                lock (gate) return sent.ConvertAll(JObject.Parse);
            }
        }

        public List<JObject> SentOfType(string type)
        {
            return Sent.FindAll(f => (string)f["type"] == type);
        }

        /// <summary>The next frame sent after the last one read this way.</summary>
        public JObject Next(int timeoutMs = 3000)
        {
            Wait.Until(() => { lock (gate) return sent.Count > read; }, timeoutMs, "the client to send frame #" + read);
            lock (gate) return JObject.Parse(sent[read++]);
        }

        /// <summary>The next frame of that type, skipping others (pings, acks).</summary>
        public JObject NextOf(string type, int timeoutMs = 3000)
        {
            var watch = Stopwatch.StartNew();
            while (true)
            {
                int left = (int)Math.Max(1, timeoutMs - watch.ElapsedMilliseconds);
                JObject frame;
                try
                {
                    frame = Next(left);
                }
                catch (AssertionException)
                {
                    Assert.Fail("the client sent no " + type + " frame within " + timeoutMs + " ms; sent: " + Describe());
                    throw;
                }
                if ((string)frame["type"] == type) return frame;
            }
        }

        public string Describe()
        {
            lock (gate) return string.Join(" ", sent.ToArray());
        }
    }

    /// <summary>Bounded waits with a message that says what did not happen.</summary>
    internal static class Wait
    {
        public static void Until(Func<bool> condition, int timeoutMs, string what)
        {
            var watch = Stopwatch.StartNew();
            while (!condition())
            {
                if (watch.ElapsedMilliseconds > timeoutMs) Assert.Fail("timed out after " + timeoutMs + " ms waiting for " + what);
                Thread.Sleep(2);
            }
        }

        public static void For(Task task, int timeoutMs, string what)
        {
            if (!task.Wait(timeoutMs)) Assert.Fail("timed out after " + timeoutMs + " ms waiting for " + what);
        }

        /// <summary>Holds for the whole time (for "nothing happens").</summary>
        public static void Stays(Func<bool> condition, int ms, string what)
        {
            var watch = Stopwatch.StartNew();
            while (watch.ElapsedMilliseconds < ms)
            {
                if (!condition()) Assert.Fail("after " + watch.ElapsedMilliseconds + " ms: " + what);
                Thread.Sleep(2);
            }
        }
    }

    /// <summary>Every event a client raises, in order, as text and as values.</summary>
    internal sealed class Recorder
    {
        private readonly object gate = new object();
        private readonly List<string> events = new List<string>();
        public readonly List<JToken> Messages = new List<JToken>();
        public readonly List<long> Seqs = new List<long>();
        public readonly List<ResumedEventArgs> Resumed = new List<ResumedEventArgs>();
        public readonly List<NewSessionEventArgs> NewSessions = new List<NewSessionEventArgs>();
        public readonly List<IList<JToken>> Dropped = new List<IList<JToken>>();
        public readonly List<ClosedReason> Closed = new List<ClosedReason>();

        public Recorder(ISessionClient client)
        {
            client.Message += (body, seq) => Add("message " + seq, () => { Messages.Add(body); Seqs.Add(seq); });
            client.Resumed += e => Add("resumed " + e.SessionId, () => Resumed.Add(e));
            client.NewSession += e => Add("newSession " + e.SessionId + " " + e.Reason, () => NewSessions.Add(e));
            client.StateChanged += (to, from) => Add("state " + from + ">" + to, null);
            client.Dropped += bodies => Add("dropped " + bodies.Count, () => Dropped.Add(bodies));
            client.Closed += reason => Add("closed " + reason, () => Closed.Add(reason));
        }

        private void Add(string line, Action also)
        {
            lock (gate)
            {
                events.Add(line);
                if (also != null) also();
            }
        }

        public List<string> Events
        {
            get { lock (gate) return new List<string>(events); }
        }

        public int Count(Func<Recorder, int> count)
        {
            lock (gate) return count(this);
        }

        public T Read<T>(Func<Recorder, T> read)
        {
            lock (gate) return read(this);
        }
    }

    /// <summary>A store in memory that counts its calls.</summary>
    internal sealed class MemoryStore : ISessionStore
    {
        private readonly object gate = new object();
        private StoredSession session;
        public int Loads, Saves, Clears;

        public MemoryStore(StoredSession initial = null)
        {
            session = initial;
        }

        public StoredSession Current
        {
            get { lock (gate) return session; }
        }

        public StoredSession Load()
        {
            lock (gate)
            {
                Loads++;
                return session;
            }
        }

        public void Save(StoredSession value)
        {
            lock (gate)
            {
                Saves++;
                session = new StoredSession { SessionId = value.SessionId, ResumeToken = value.ResumeToken, LastSeq = value.LastSeq };
            }
        }

        public void Clear()
        {
            lock (gate)
            {
                Clears++;
                session = null;
            }
        }
    }

    /// <summary>A client over a FakeServer, with short timeouts; Dispose tears both down.</summary>
    internal sealed class Harness : IDisposable
    {
        public readonly FakeServer Server = new FakeServer();
        public readonly SessionClient Client;
        public readonly Recorder Events;
        public readonly SessionClientOptions Options;
        private readonly List<string> log = new List<string>();

        public Harness(Action<SessionClientOptions> configure = null, Action<FakeServer> stage = null)
        {
            if (stage != null) stage(Server);
            Options = new SessionClientOptions
            {
                Url = new Uri("ws://test.invalid/session"),
                SocketFactory = Server.Factory,
                Random = () => 0.5,
                WelcomeTimeoutMs = 3000,
                ConnectTimeoutMs = 3000,
                Log = line => { lock (log) log.Add(line); },
            };
            if (configure != null) configure(Options);
            Client = new SessionClient(Options);
            Client.CloseGraceMs = 500;
            Events = new Recorder(Client);
        }

        public List<string> Log
        {
            get { lock (log) return new List<string>(log); }
        }

        public bool Logged(string fragment)
        {
            return Log.Exists(line => line.Contains(fragment));
        }

        /// <summary>The log is written on the client's threads, after what a test waits for.</summary>
        public void WaitForLog(string fragment, int timeoutMs = 3000)
        {
            Wait.Until(() => Logged(fragment), timeoutMs, "a log line with \"" + fragment + "\" in:\n" + string.Join("\n", Log));
        }

        /// <summary>Connects and returns the socket once the client is Active.</summary>
        public FakeSocket Connect()
        {
            Wait.For(Client.ConnectAsync(), 3000, "ConnectAsync to complete at the welcome");
            return Server.Last;
        }

        public void WaitForState(SessionState state, int timeoutMs = 3000)
        {
            Wait.Until(() => Client.State == state, timeoutMs, "state " + state + " (now " + Client.State + ")");
        }

        public void Dispose()
        {
            Client.Dispose();
        }
    }

    internal static class Json
    {
        public static JObject Body(string text)
        {
            return new JObject { { "text", text } };
        }
    }
}
