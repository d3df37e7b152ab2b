using System.Collections.Generic;
using Newtonsoft.Json.Linq;

namespace Tether.Session
{
    /// <summary>Where the client is; every change is reported by StateChanged(to, from).</summary>
    public enum SessionState
    {
        /// <summary>No connection wanted yet (or the server ended the session with 1000).</summary>
        Idle,
        /// <summary>Opening a socket, or waiting to retry after a loss.</summary>
        Connecting,
        /// <summary>The socket is open and the hello sent; no welcome yet.</summary>
        Handshaking,
        /// <summary>Welcomed: messages flow.</summary>
        Active,
        /// <summary>For good: CloseAsync, Dispose, or replaced by another connection (4409).</summary>
        Closed,
    }

    /// <summary>
    /// What Send does when the outbox is full. Reject refuses the new message; DropOldest evicts
    /// the oldest messages never sent (reported by Dropped). Messages already on the wire are never
    /// evicted: the server may hold them, and a hole in the sequence would break the resume.
    /// </summary>
    public enum OverflowPolicy
    {
        Reject,
        DropOldest,
    }

    /// <summary>Why a welcome started a new session instead of resuming (docs/session-protocol.md §3).</summary>
    public enum NewSessionReason
    {
        /// <summary>The hello carried no token: a first session.</summary>
        New,
        /// <summary>The resume window passed, or the server ended the session (or closed 4410).</summary>
        Expired,
        /// <summary>The server has no such session.</summary>
        Unknown,
        /// <summary>The server refused the token (4401).</summary>
        BadToken,
    }

    public enum ClosedReason
    {
        /// <summary>CloseAsync or Dispose.</summary>
        Closed,
        /// <summary>Another connection resumed this session (4409); coming back would steal it back.</summary>
        Replaced,
    }

    public sealed class ResumedEventArgs
    {
        public string SessionId;
        /// <summary>Our messages sent again because the server had not stored them.</summary>
        public int Resent;
        /// <summary>Server messages lost for good (its replay buffer overflowed while we were away).</summary>
        public long Missed;
    }

    public sealed class NewSessionEventArgs
    {
        public string SessionId;
        public NewSessionReason Reason;
        /// <summary>The session this one replaces (a stored one counts), or null for a first session.</summary>
        public string PreviousSessionId;
        /// <summary>Messages meant for the previous session it never confirmed; not sent to this one.</summary>
        public IList<JToken> Undelivered;
    }

    /// <summary>What survives an app restart. The token is a secret: keep it where app data is kept.</summary>
    public sealed class StoredSession
    {
        public string SessionId;
        public string ResumeToken;
        /// <summary>The highest server seq received in order, sent as the hello's lastSeq.</summary>
        public long LastSeq;
    }

    /// <summary>Keeps the session across app restarts. May be called from any thread.</summary>
    public interface ISessionStore
    {
        /// <summary>The saved session, or null.</summary>
        StoredSession Load();
        void Save(StoredSession session);
        void Clear();
    }
}
