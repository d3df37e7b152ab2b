using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using UnityEngine;
using UnityEngine.Events;

namespace Tether.Session.Unity
{
    /// <summary>A UnityEvent with a JSON text argument (UnityEvents need serializable arguments).</summary>
    [Serializable]
    public sealed class SessionTextEvent : UnityEvent<string>
    {
    }

    /// <summary>
    /// The thin Unity adapter around the engine-free session client (Runtime/Core). Add it to a
    /// GameObject, set the URL, and handle <see cref="Message"/> and <see cref="NewSession"/>.
    ///
    /// Threads: the client's receive loop, timers and sends run off the main thread, so the socket
    /// stays alive (ping frames answered, app heartbeat sent) while the main thread is stopped:
    /// a window without focus and Application.runInBackground off, a long frame, a breakpoint.
    /// Its events are queued and run here, on the main thread, from Update: a bounded number per
    /// frame, so a burst after a long pause does not stall a frame. While the main thread is
    /// stopped nothing is lost: the events wait in the queue, in order.
    ///
    /// Lifecycle (see the package README):
    /// - OnApplicationPause(true): the app is being suspended (mobile; desktop with
    ///   runInBackground off on some platforms): flush the ack and send the "pausing" hint, so the
    ///   server marks the session paused at once; on mobile, write the session to disk, since a
    ///   suspended app may be killed without OnApplicationQuit.
    /// - OnApplicationPause(false) / OnApplicationFocus(true) after either: Resume() — a ping now,
    ///   and a reconnect without backoff if the socket died meanwhile.
    /// - OnApplicationFocus(false) on desktop: nothing. The connection does not need the main
    ///   thread, and a hint would make the server count a player reading another window as away.
    /// - OnApplicationQuit: save, and close without ending the session (CloseAsync(end: false)),
    ///   so the next launch within the resume window continues the same conversation.
    /// - OnDestroy: dispose the client (which saves too).
    /// </summary>
    public sealed class SessionBehaviour : MonoBehaviour
    {
        [Header("Server")]
        [Tooltip("The session endpoint, ws:// or wss://, e.g. ws://127.0.0.1:8080/session")]
        [SerializeField]
        string url = "ws://127.0.0.1:8080/session";

        [Tooltip("Optional JSON sent in every hello as the session's context, e.g. {\"language\":\"fr\"}. The server's set-up of a new session receives it.")]
        [TextArea(2, 6)]
        [SerializeField]
        string contextJson = "";

        [Tooltip("Connect in Start. Off: call Connect() yourself (a Send connects too).")]
        [SerializeField]
        bool connectOnStart = true;

        [Header("Persistence")]
        [Tooltip("Keep the session in PlayerPrefs, so a restart within the server's resume window resumes it.")]
        [SerializeField]
        bool rememberSession = true;

        [Tooltip("The PlayerPrefs key; one per SessionBehaviour when a scene has several.")]
        [SerializeField]
        string storeKey = PlayerPrefsSessionStore.DefaultKey;

        [Header("Main thread")]
        [Tooltip("Events run per Update at most; the rest wait for the next frame, in order.")]
        [SerializeField]
        int maxEventsPerFrame = 64;

        [Tooltip("How long OnApplicationQuit waits for the close to go out, in milliseconds.")]
        [SerializeField]
        int quitWaitMs = 250;

        [Tooltip("Log the client's diagnostics (connects, closes, retries; never the token).")]
        [SerializeField]
        bool logDiagnostics;

        [Header("Events")]
        [Tooltip("Each server message, as JSON text.")]
        [SerializeField]
        SessionTextEvent onMessage = new SessionTextEvent();

        [Tooltip("The same session continued after a reconnect; the argument is its id.")]
        [SerializeField]
        SessionTextEvent onResumed = new SessionTextEvent();

        [Tooltip("A new session started; the argument is the reason: New, Expired, Unknown or BadToken.")]
        [SerializeField]
        SessionTextEvent onNewSession = new SessionTextEvent();

        MainThreadQueue queue;
        PlayerPrefsSessionStore store;
        ISessionClient client;
        // Set when the app went away (paused, or lost focus), so that coming back resumes and the
        // OnApplicationFocus(true) every app gets at start-up does not connect on its own.
        bool away;
        volatile bool closing;

        /// <summary>Each server message (body, seq), in order, once, on the main thread.</summary>
        public event Action<JToken, long> Message;
        /// <summary>The same session continued after a reconnect.</summary>
        public event Action<ResumedEventArgs> Resumed;
        /// <summary>A new session, why, and the messages the previous one never confirmed.</summary>
        public event Action<NewSessionEventArgs> NewSession;
        /// <summary>(to, from).</summary>
        public event Action<SessionState, SessionState> StateChanged;
        /// <summary>Messages evicted from a full outbox by OverflowPolicy.DropOldest.</summary>
        public event Action<IList<JToken>> Dropped;
        /// <summary>The client stopped for good: closed, or replaced by a newer connection.</summary>
        public event Action<ClosedReason> Closed;

        /// <summary>The URL used when the client is created (Awake).</summary>
        public string Url { get { return url; } set { url = value; } }

        /// <summary>The client (SessionClient, or on WebGL the page's); null if the URL was invalid.</summary>
        public ISessionClient Client { get { return client; } }

        /// <summary>The PlayerPrefs store, or null with rememberSession off.</summary>
        public PlayerPrefsSessionStore Store { get { return store; } }

        public SessionState State { get { return client == null ? SessionState.Closed : client.State; } }

        public string SessionId { get { return client == null ? null : client.SessionId; } }

        /// <summary>Events waiting for the next Update.</summary>
        public int QueuedEvents { get { return queue == null ? 0 : queue.Count; } }

        /// <summary>Queues a message for the server. False when refused (outbox full) or closed.</summary>
        public bool Send(JToken body)
        {
            return client != null && client.Send(body);
        }

        /// <summary>Starts (or joins) the connection; completes at the welcome.</summary>
        public Task Connect()
        {
            if (client == null) return Task.FromResult(false);
            var connecting = client.ConnectAsync();
            Observe(connecting, "connect");
            return connecting;
        }

        /// <summary>Ends the session for good: the server forgets it, the stored one is cleared.</summary>
        public Task EndSession()
        {
            if (client == null) return Task.FromResult(false);
            closing = true;
            var ending = client.CloseAsync(true);
            Observe(ending, "end");
            return ending;
        }

        void Awake()
        {
            queue = new MainThreadQueue();
            if (rememberSession) store = new PlayerPrefsSessionStore(storeKey);
            var options = new SessionClientOptions
            {
                Store = store,
                Dispatch = queue.Post,
                // Debug.Log may be called from any thread; the client logs from its own.
                Log = logDiagnostics ? (Action<string>)(line => Debug.Log("[tether] " + line)) : null,
            };
            if (!Application.runInBackground && !Application.isMobilePlatform && logDiagnostics)
            {
                Debug.Log("[tether] runInBackground is off: without focus the main thread stops; " +
                          "the connection stays up and events wait for it (README: threading)");
            }
            try
            {
                options.Url = new Uri(url);
                options.Context = string.IsNullOrEmpty(contextJson) ? null : JToken.Parse(contextJson);
                client = CreateClient(options);
            }
            catch (Exception e) when (e is UriFormatException || e is JsonException || e is ArgumentException)
            {
                // No client: Send returns false, State is Closed. The Inspector's values are wrong.
                Debug.LogError("SessionBehaviour: " + e.Message + " (check the URL and the context JSON)");
                return;
            }
            client.Message += OnClientMessage;
            client.Resumed += OnClientResumed;
            client.NewSession += OnClientNewSession;
            client.StateChanged += OnClientStateChanged;
            client.Dropped += OnClientDropped;
            client.Closed += OnClientClosed;
        }

        static ISessionClient CreateClient(SessionClientOptions options)
        {
#if UNITY_WEBGL && !UNITY_EDITOR
            // No sockets or threads for C# in a browser: the page's own SessionClient does the work.
            return new WebGLSessionClient(options);
#else
            return new SessionClient(options);
#endif
        }

        void Start()
        {
            if (connectOnStart) Connect();
        }

        void Update()
        {
            if (store != null) store.Flush();
            if (queue != null) queue.Pump(Math.Max(1, maxEventsPerFrame));
        }

        void OnApplicationPause(bool paused)
        {
            if (client == null) return;
            if (paused)
            {
                away = true;
                client.Pause();
                if (store != null) store.Flush(Application.isMobilePlatform);
            }
            else
            {
                ComeBack();
            }
        }

        void OnApplicationFocus(bool focused)
        {
            if (client == null) return;
            if (focused) ComeBack();
            else away = true;
        }

        void ComeBack()
        {
            if (!away || closing) return;
            away = false;
            client.Resume();
        }

        void OnApplicationQuit()
        {
            if (client == null || closing) return;
            closing = true;
            var close = client.CloseAsync(false);
            Observe(close, "close");
            // Bounded: the close frame lets the server detach the session now rather than after
            // its ping timeout, but a quit must not hang on a dead network. The client does not
            // need the main thread to finish, so waiting here cannot deadlock.
            try { close.Wait(Math.Max(0, quitWaitMs)); } catch (AggregateException) { }
            if (store != null) store.Flush(true);
        }

        void OnDestroy()
        {
            if (client == null) return;
            client.Message -= OnClientMessage;
            client.Resumed -= OnClientResumed;
            client.NewSession -= OnClientNewSession;
            client.StateChanged -= OnClientStateChanged;
            client.Dropped -= OnClientDropped;
            client.Closed -= OnClientClosed;
            client.Dispose();
            client = null;
            if (store != null) store.Flush(true);
        }

        // The client's events arrive here through the queue, that is on the main thread, in
        // Update. A handler that throws is logged and does not keep the others from running.

        void OnClientMessage(JToken body, long seq)
        {
            Raise(Message, h => h(body, seq));
            if (onMessage != null) Safely(() => onMessage.Invoke(body == null ? "null" : body.ToString(Formatting.None)));
        }

        void OnClientResumed(ResumedEventArgs e)
        {
            Raise(Resumed, h => h(e));
            if (onResumed != null) Safely(() => onResumed.Invoke(e.SessionId));
        }

        void OnClientNewSession(NewSessionEventArgs e)
        {
            Raise(NewSession, h => h(e));
            if (onNewSession != null) Safely(() => onNewSession.Invoke(e.Reason.ToString()));
        }

        void OnClientStateChanged(SessionState to, SessionState from)
        {
            Raise(StateChanged, h => h(to, from));
        }

        void OnClientDropped(IList<JToken> bodies)
        {
            Raise(Dropped, h => h(bodies));
        }

        void OnClientClosed(ClosedReason reason)
        {
            Raise(Closed, h => h(reason));
        }

        static void Raise<T>(T handlers, Action<T> invoke) where T : class
        {
            var list = handlers as Delegate;
            if (list == null) return;
            foreach (var one in list.GetInvocationList())
            {
                var handler = one as T;
                Safely(() => invoke(handler));
            }
        }

        static void Safely(Action action)
        {
            try { action(); }
            catch (Exception e) { Debug.LogException(e); }
        }

        // A fault is logged (from whichever thread completes the task: Debug is thread-safe),
        // except a connect cut short by our own close.
        void Observe(Task task, string what)
        {
            task.ContinueWith(
                t =>
                {
                    if (what == "connect" && closing) return;
                    Debug.LogWarning("SessionBehaviour: " + what + " failed: " + t.Exception.GetBaseException().Message);
                },
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }
}
