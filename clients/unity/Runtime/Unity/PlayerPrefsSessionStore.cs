using System;
using System.Threading;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using UnityEngine;

namespace Tether.Session.Unity
{
    /// <summary>
    /// Keeps the session (id, resume token, last seq) in PlayerPrefs, so an app restarted within
    /// the server's resume window continues the same conversation.
    ///
    /// PlayerPrefs may be touched on the main thread only, and the client calls the store from
    /// its own threads (it saves at every welcome, which arrives on the receive loop). So:
    /// the value is read once, in the constructor (build it in Awake); Load returns that value,
    /// or the latest saved since, from any thread; Save and Clear on the main thread write at
    /// once, and from any other thread record the latest value, which <see cref="Flush"/> writes
    /// from the main thread (SessionBehaviour calls it in Update, OnApplicationPause and
    /// OnApplicationQuit). Only the latest value matters: a token replaces the one before.
    /// </summary>
    public sealed class PlayerPrefsSessionStore : ISessionStore
    {
        public const string DefaultKey = "tether.session";

        readonly string key;
        readonly int mainThread;
        readonly object gate = new object();
        StoredSession latest;
        // True while PlayerPrefs lags behind `latest` (a session, or null for a clear): set by a
        // save or clear off the main thread, cleared by the main thread's write.
        bool owed;

        /// <summary>Reads the stored session: call on the main thread (Awake).</summary>
        public PlayerPrefsSessionStore(string key = DefaultKey)
        {
            this.key = string.IsNullOrEmpty(key) ? DefaultKey : key;
            mainThread = Thread.CurrentThread.ManagedThreadId;
            latest = Decode(PlayerPrefs.GetString(this.key, ""));
        }

        /// <summary>The PlayerPrefs key this store writes.</summary>
        public string Key { get { return key; } }

        /// <summary>True while a save or clear from another thread waits for <see cref="Flush"/>.</summary>
        public bool HasPendingWrite
        {
            get { lock (gate) return owed; }
        }

        public StoredSession Load()
        {
            lock (gate) return Copy(latest);
        }

        public void Save(StoredSession session)
        {
            Record(Copy(session));
        }

        public void Clear()
        {
            Record(null);
        }

        /// <summary>
        /// Writes the value recorded off the main thread into PlayerPrefs. Main thread only; cheap
        /// when nothing is owed, so it can run every frame. With <paramref name="toDisk"/>,
        /// PlayerPrefs.Save() too: Unity writes PlayerPrefs to disk on a normal quit, but a
        /// suspended mobile app can be killed without one.
        /// </summary>
        public void Flush(bool toDisk = false)
        {
            StoredSession value;
            bool write;
            lock (gate)
            {
                write = owed;
                value = latest;
                owed = false;
            }
            if (write) Write(value);
            if (toDisk) PlayerPrefs.Save();
        }

        void Record(StoredSession value)
        {
            bool onMain = Thread.CurrentThread.ManagedThreadId == mainThread;
            lock (gate)
            {
                latest = value;
                // A value recorded earlier off the main thread is older than this one: written
                // now, it is no longer owed.
                owed = !onMain;
            }
            if (onMain) Write(value);
        }

        void Write(StoredSession value)
        {
            if (value == null || value.SessionId == null) PlayerPrefs.DeleteKey(key);
            else PlayerPrefs.SetString(key, Encode(value));
        }

        // By hand, as JObject: IL2CPP strips what only reflection would reach.
        static string Encode(StoredSession s)
        {
            var o = new JObject();
            o["sessionId"] = s.SessionId;
            o["resumeToken"] = s.ResumeToken;
            o["lastSeq"] = s.LastSeq;
            return o.ToString(Formatting.None);
        }

        static StoredSession Decode(string text)
        {
            if (string.IsNullOrEmpty(text)) return null;
            try
            {
                var o = JToken.Parse(text) as JObject;
                if (o == null || o["sessionId"] == null || o["sessionId"].Type != JTokenType.String)
                    return null;
                var token = o["resumeToken"];
                var seq = o["lastSeq"];
                return new StoredSession
                {
                    SessionId = (string)o["sessionId"],
                    ResumeToken = token != null && token.Type == JTokenType.String ? (string)token : null,
                    LastSeq = seq != null && seq.Type == JTokenType.Integer ? (long)seq : 0,
                };
            }
            catch (JsonException)
            {
                // A value this version cannot read is no session: start a new one.
                return null;
            }
        }

        static StoredSession Copy(StoredSession s)
        {
            if (s == null) return null;
            return new StoredSession { SessionId = s.SessionId, ResumeToken = s.ResumeToken, LastSeq = s.LastSeq };
        }
    }
}
