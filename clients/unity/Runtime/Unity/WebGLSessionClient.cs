using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Tasks;
using AOT;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using UnityEngine.Scripting;

namespace Tether.Session.Unity
{
    /// <summary>
    /// The session client for WebGL builds, with the C# API of <see cref="SessionClient"/>. A
    /// browser gives C# neither sockets nor threads, so the work is done by the page: the
    /// TypeScript SessionClient of packages/session, bundled as Plugins/WebGL/tether-session.jspre
    /// and driven through Plugins/WebGL/TetherSession.jslib. There the page lifecycle (hidden,
    /// frozen, back) is already followed, and the browser answers ping frames itself.
    ///
    /// Calls go to the page by P/Invoke ("__Internal"); events come back through one static
    /// callback: a handle and one JSON event (the shapes are listed in the .jslib). They are
    /// delivered through options.Dispatch like the core's, so SessionBehaviour runs them in
    /// Update on every platform alike.
    ///
    /// Not carried over (the browser decides): SocketFactory, Headers (a page cannot set
    /// upgrade headers), Random, DeadAfterMs and ConnectTimeoutMs beyond the page's link.
    /// </summary>
    public sealed class WebGLSessionClient : ISessionClient
    {
        static readonly object registryGate = new object();
        static readonly Dictionary<int, WebGLSessionClient> live = new Dictionary<int, WebGLSessionClient>();
        static int lastHandle;

        readonly object gate = new object();
        readonly IWebGLBridge bridge;
        readonly int handle;
        readonly ISessionStore store;
        readonly Action<Action> dispatch;
        readonly Action<string> log;
        readonly List<TaskCompletionSource<bool>> waiters = new List<TaskCompletionSource<bool>>();
        SessionState state = SessionState.Idle;
        string sessionId;
        string resumeToken;
        long lastSeq;
        bool destroyed;

        public WebGLSessionClient(SessionClientOptions options) : this(options, new NativeWebGLBridge())
        {
        }

        internal WebGLSessionClient(SessionClientOptions options, IWebGLBridge bridge)
        {
            if (options == null) throw new ArgumentNullException("options");
            if (options.Url == null) throw new ArgumentException("options.Url is required", "options");
            if (options.Url.Scheme != "ws" && options.Url.Scheme != "wss")
                throw new ArgumentException("options.Url must be ws:// or wss://", "options");
            this.bridge = bridge;
            store = options.Store;
            dispatch = options.Dispatch;
            log = options.Log;
            var stored = store == null ? null : store.Load();
            if (stored != null && stored.SessionId != null && stored.ResumeToken != null)
            {
                sessionId = stored.SessionId;
                resumeToken = stored.ResumeToken;
                lastSeq = stored.LastSeq;
            }
            if (options.Headers != null && options.Headers.Count > 0 && log != null)
                log("WebGL: a page cannot set WebSocket upgrade headers; options.Headers are ignored");
            lock (registryGate)
            {
                handle = ++lastHandle;
                live[handle] = this;
            }
            bridge.Create(handle, OptionsJson(options, stored));
        }

        public SessionState State { get { lock (gate) return state; } }

        public string SessionId { get { lock (gate) return sessionId; } }

        public int Pending { get { return Destroyed ? 0 : bridge.Pending(handle); } }

        public event Action<JToken, long> Message;
        public event Action<ResumedEventArgs> Resumed;
        public event Action<NewSessionEventArgs> NewSession;
        public event Action<SessionState, SessionState> StateChanged;
        public event Action<IList<JToken>> Dropped;
        public event Action<ClosedReason> Closed;

        bool Destroyed { get { lock (gate) return destroyed; } }

        public Task ConnectAsync()
        {
            TaskCompletionSource<bool> waiter;
            lock (gate)
            {
                if (state == SessionState.Closed || destroyed)
                    return Failed(new InvalidOperationException("the session client is closed"));
                if (state == SessionState.Active) return Task.FromResult(true);
                waiter = new TaskCompletionSource<bool>();
                waiters.Add(waiter);
            }
            bridge.Connect(handle);
            return waiter.Task;
        }

        public bool Send(JToken body)
        {
            if (Destroyed || State == SessionState.Closed) return false;
            var json = body == null ? "null" : body.ToString(Formatting.None);
            return bridge.Send(handle, json);
        }

        public void Pause()
        {
            if (Destroyed) return;
            bridge.Pause(handle);
            SaveSession();
        }

        public void Resume()
        {
            if (Destroyed) return;
            bridge.Resume(handle);
        }

        public Task CloseAsync(bool end = true)
        {
            if (Destroyed || State == SessionState.Closed) return Task.FromResult(true);
            // The page emits "closed" from within this call, so the state is Closed on return.
            bridge.Close(handle, end);
            if (store != null)
            {
                if (end) store.Clear();
                else SaveSession();
            }
            return Task.FromResult(true);
        }

        public void Dispose()
        {
            lock (gate)
            {
                if (destroyed) return;
            }
            if (State != SessionState.Closed) CloseAsync(false);
            lock (gate) destroyed = true;
            bridge.Destroy(handle);
            lock (registryGate) live.Remove(handle);
        }

        /// <summary>An event from the page (the .jslib's callback, or a test's fake bridge).</summary>
        internal static void Deliver(int handle, string json)
        {
            WebGLSessionClient client;
            lock (registryGate)
            {
                if (!live.TryGetValue(handle, out client)) return;
            }
            try
            {
                client.OnEvent(JObject.Parse(json));
            }
            catch (Exception e)
            {
                // Nothing may escape into the page: an exception through a native callback
                // aborts a WebGL player.
                if (client.log != null) client.log("WebGL: bad event from the page: " + e.Message);
            }
        }

        void OnEvent(JObject e)
        {
            switch ((string)e["type"])
            {
                case "state":
                    OnState(ParseState((string)e["to"]), ParseState((string)e["from"]));
                    break;
                case "message":
                {
                    var seq = (long)e["seq"];
                    var body = e["body"];
                    lock (gate) lastSeq = seq;
                    Post(() =>
                    {
                        var h = Message;
                        if (h != null) h(body, seq);
                    });
                    break;
                }
                case "resumed":
                {
                    var args = new ResumedEventArgs
                    {
                        SessionId = (string)e["sessionId"],
                        Resent = (int)e["resent"],
                        Missed = (long)e["missed"],
                    };
                    lock (gate)
                    {
                        sessionId = args.SessionId;
                        resumeToken = (string)e["resumeToken"];
                        lastSeq += args.Missed;
                    }
                    Welcomed();
                    Post(() =>
                    {
                        var h = Resumed;
                        if (h != null) h(args);
                    });
                    break;
                }
                case "newSession":
                {
                    var previous = e["previousSessionId"];
                    var args = new NewSessionEventArgs
                    {
                        SessionId = (string)e["sessionId"],
                        Reason = ParseReason((string)e["reason"]),
                        PreviousSessionId = previous == null || previous.Type == JTokenType.Null ? null : (string)previous,
                        Undelivered = List(e["undelivered"]),
                    };
                    lock (gate)
                    {
                        sessionId = args.SessionId;
                        resumeToken = (string)e["resumeToken"];
                        lastSeq = 0;
                    }
                    Welcomed();
                    Post(() =>
                    {
                        var h = NewSession;
                        if (h != null) h(args);
                    });
                    break;
                }
                case "dropped":
                {
                    var bodies = List(e["bodies"]);
                    Post(() =>
                    {
                        var h = Dropped;
                        if (h != null) h(bodies);
                    });
                    break;
                }
                case "closed":
                {
                    var reason = (string)e["reason"] == "replaced" ? ClosedReason.Replaced : ClosedReason.Closed;
                    FailWaiters();
                    Post(() =>
                    {
                        var h = Closed;
                        if (h != null) h(reason);
                    });
                    break;
                }
            }
        }

        void OnState(SessionState to, SessionState from)
        {
            lock (gate) state = to;
            Post(() =>
            {
                var h = StateChanged;
                if (h != null) h(to, from);
            });
        }

        // At every welcome, as the core does: the token rotates, and the stored one must follow.
        void Welcomed()
        {
            SaveSession();
            List<TaskCompletionSource<bool>> done;
            lock (gate)
            {
                done = new List<TaskCompletionSource<bool>>(waiters);
                waiters.Clear();
            }
            foreach (var w in done) w.TrySetResult(true);
        }

        void FailWaiters()
        {
            List<TaskCompletionSource<bool>> done;
            lock (gate)
            {
                done = new List<TaskCompletionSource<bool>>(waiters);
                waiters.Clear();
            }
            foreach (var w in done) w.TrySetException(new InvalidOperationException("the session client is closed"));
        }

        void SaveSession()
        {
            if (store == null) return;
            StoredSession s;
            lock (gate)
            {
                if (sessionId == null || resumeToken == null) return;
                s = new StoredSession { SessionId = sessionId, ResumeToken = resumeToken, LastSeq = lastSeq };
            }
            store.Save(s);
        }

        void Post(Action action)
        {
            if (dispatch != null)
            {
                dispatch(action);
                return;
            }
            // Inline, inside the page's callback: an app handler's exception stops here.
            try { action(); }
            catch (Exception e)
            {
                if (log != null) log("WebGL: an event handler threw: " + e);
            }
        }

        static Task Failed(Exception e)
        {
            var t = new TaskCompletionSource<bool>();
            t.SetException(e);
            return t.Task;
        }

        static IList<JToken> List(JToken array)
        {
            var list = new List<JToken>();
            var a = array as JArray;
            if (a != null) foreach (var item in a) list.Add(item);
            return list;
        }

        static SessionState ParseState(string name)
        {
            switch (name)
            {
                case "connecting": return SessionState.Connecting;
                case "handshaking": return SessionState.Handshaking;
                case "active": return SessionState.Active;
                case "closed": return SessionState.Closed;
                default: return SessionState.Idle;
            }
        }

        static NewSessionReason ParseReason(string reason)
        {
            switch (reason)
            {
                case "expired": return NewSessionReason.Expired;
                case "unknown": return NewSessionReason.Unknown;
                case "bad-token": return NewSessionReason.BadToken;
                default: return NewSessionReason.New;
            }
        }

        // The page's options, by hand as JObject (IL2CPP strips what only reflection reaches).
        static string OptionsJson(SessionClientOptions o, StoredSession stored)
        {
            var json = new JObject();
            json["url"] = o.Url.ToString();
            if (o.Context != null) json["context"] = o.Context;
            if (o.HeartbeatMs.HasValue) json["heartbeatMs"] = o.HeartbeatMs.Value;
            json["welcomeTimeoutMs"] = o.WelcomeTimeoutMs;
            json["outbox"] = new JObject
            {
                { "maxMessages", o.MaxMessages },
                { "maxBytes", o.MaxBytes },
                { "overflow", o.Overflow == OverflowPolicy.DropOldest ? "drop-oldest" : "reject" },
            };
            json["acks"] = new JObject { { "ackDelayMs", o.AckDelayMs }, { "ackEvery", o.AckEvery } };
            json["link"] = new JObject
            {
                { "connectTimeoutMs", o.ConnectTimeoutMs },
                {
                    "backoff", new JObject
                    {
                        { "firstRetryMaxMs", o.FirstRetryMaxMs },
                        { "floorMs", o.RetryBaseMs },
                        { "capMs", o.RetryCapMs },
                    }
                },
            };
            if (stored != null && stored.SessionId != null && stored.ResumeToken != null)
            {
                json["resume"] = new JObject
                {
                    { "sessionId", stored.SessionId },
                    { "resumeToken", stored.ResumeToken },
                    { "lastSeq", stored.LastSeq },
                };
            }
            return json.ToString(Formatting.None);
        }
    }

    /// <summary>The page's half of the WebGL client; a test puts a fake in its place.</summary>
    internal interface IWebGLBridge
    {
        void Create(int handle, string optionsJson);
        void Connect(int handle);
        bool Send(int handle, string bodyJson);
        void Pause(int handle);
        void Resume(int handle);
        void Close(int handle, bool end);
        int Pending(int handle);
        void Destroy(int handle);
    }

    /// <summary>
    /// TetherSession.jslib through P/Invoke. Strings go to the page as UTF-8 (IL2CPP marshals a
    /// string parameter so, the page reads it with UTF8ToString); booleans travel as ints.
    ///
    /// Events come back through a function pointer to a static method marked
    /// [MonoPInvokeCallback], the one way IL2CPP lets native code call managed code: it makes a
    /// native entry point for that method only. Chosen over SendMessage, which would need a
    /// GameObject with a unique name, carry a string only, and tie the client to a scene.
    /// </summary>
    internal sealed class NativeWebGLBridge : IWebGLBridge
    {
        internal delegate void EventCallback(int handle, IntPtr utf8Json);

        // Held in a static field: the page keeps the pointer, so the delegate must never be
        // collected.
        static readonly EventCallback callback = OnEvent;

        [DllImport("__Internal")]
        static extern void TetherSession_Create(int handle, string optionsJson, EventCallback onEvent);

        [DllImport("__Internal")]
        static extern void TetherSession_Connect(int handle);

        [DllImport("__Internal")]
        static extern int TetherSession_Send(int handle, string bodyJson);

        [DllImport("__Internal")]
        static extern void TetherSession_Pause(int handle);

        [DllImport("__Internal")]
        static extern void TetherSession_Resume(int handle);

        [DllImport("__Internal")]
        static extern void TetherSession_Close(int handle, int end);

        [DllImport("__Internal")]
        static extern int TetherSession_Pending(int handle);

        [DllImport("__Internal")]
        static extern void TetherSession_Destroy(int handle);

        public void Create(int handle, string optionsJson) { TetherSession_Create(handle, optionsJson, callback); }
        public void Connect(int handle) { TetherSession_Connect(handle); }
        public bool Send(int handle, string bodyJson) { return TetherSession_Send(handle, bodyJson) != 0; }
        public void Pause(int handle) { TetherSession_Pause(handle); }
        public void Resume(int handle) { TetherSession_Resume(handle); }
        public void Close(int handle, bool end) { TetherSession_Close(handle, end ? 1 : 0); }
        public int Pending(int handle) { return TetherSession_Pending(handle); }
        public void Destroy(int handle) { TetherSession_Destroy(handle); }

        // Reached from JavaScript only. [Preserve] keeps managed code stripping from judging it by
        // its managed callers. The page frees the string once this returns, so it is copied here.
        [MonoPInvokeCallback(typeof(EventCallback))]
        [Preserve]
        static void OnEvent(int handle, IntPtr utf8Json)
        {
            WebGLSessionClient.Deliver(handle, Utf8(utf8Json));
        }

        // By hand rather than Marshal.PtrToStringAuto/Ansi, whose encoding differs by runtime.
        internal static string Utf8(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            var length = 0;
            while (Marshal.ReadByte(p, length) != 0) length++;
            var bytes = new byte[length];
            Marshal.Copy(p, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }
    }
}
