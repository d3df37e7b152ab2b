using System;
using System.Collections.Generic;
using Newtonsoft.Json.Linq;

namespace Tether.Session
{
    /// <summary>
    /// Everything the client can be told. Read once by the constructor, except Context, which is
    /// read at every hello so the app can change it (a new language, say) for the next connection.
    /// </summary>
    public sealed class SessionClientOptions
    {
        /// <summary>ws:// or wss:// (required).</summary>
        public Uri Url;
        /// <summary>Sent as "context" in every hello (optional).</summary>
        public JToken Context;
        /// <summary>Keeps sessionId, resumeToken and lastSeq across app restarts; null: memory only.</summary>
        public ISessionStore Store;
        /// <summary>Where events run; null: inline on the client's own threads. Unity: MainThreadQueue.Post.</summary>
        public Action<Action> Dispatch;
        /// <summary>App ping interval; null: the welcome's heartbeatMs.</summary>
        public int? HeartbeatMs;
        public int WelcomeTimeoutMs = 10000;
        public int ConnectTimeoutMs = 10000;
        /// <summary>Outbox bound: messages queued or awaiting an ack.</summary>
        public int MaxMessages = 1000;
        /// <summary>Outbox bound: UTF-8 bytes of the JSON bodies queued or awaiting an ack.</summary>
        public int MaxBytes = 1048576;
        public OverflowPolicy Overflow = OverflowPolicy.Reject;
        /// <summary>An ack waits at most this long, so a burst costs one ack.</summary>
        public int AckDelayMs = 20;
        /// <summary>…or goes out at once after this many unacknowledged messages.</summary>
        public int AckEvery = 32;
        /// <summary>The first retry after a loss: uniform in [0, FirstRetryMaxMs].</summary>
        public int FirstRetryMaxMs = 250;
        /// <summary>Later retries: uniform in [0, min(RetryCapMs, RetryBaseMs·2^(n−2))] for the n-th.</summary>
        public int RetryBaseMs = 500;
        public int RetryCapMs = 30000;
        /// <summary>No frame from the server this long drops the socket; 0: twice the heartbeat.</summary>
        public int DeadAfterMs = 0;
        /// <summary>null: a ClientWebSocketAdapter per connection.</summary>
        public Func<IWebSocket> SocketFactory;
        /// <summary>Uniform in [0, 1); null: a System.Random.</summary>
        public Func<double> Random;
        /// <summary>Diagnostics. Never given the resume token.</summary>
        public Action<string> Log;
        /// <summary>Extra headers on the WebSocket upgrade request.</summary>
        public IDictionary<string, string> Headers;
    }
}
