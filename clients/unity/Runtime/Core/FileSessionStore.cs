using System;
using System.IO;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Tether.Session
{
    /// <summary>
    /// Keeps the session in one small JSON file. A save writes a temporary file beside it and
    /// renames it over the old one, so a crash or a killed app leaves the old session or the new,
    /// never half of one. The file holds the resume token: keep it under the app's private data
    /// (Unity: Application.persistentDataPath).
    /// </summary>
    public sealed class FileSessionStore : ISessionStore
    {
        private readonly object gate = new object();
        private readonly string path;

        public FileSessionStore(string path)
        {
            if (string.IsNullOrEmpty(path)) throw new ArgumentException("a file path is required", "path");
            this.path = Path.GetFullPath(path);
        }

        /// <summary>The saved session; null when there is none or the file is not one of ours.</summary>
        public StoredSession Load()
        {
            string text;
            lock (gate)
            {
                if (!File.Exists(path)) return null;
                try
                {
                    text = File.ReadAllText(path, Encoding.UTF8);
                }
                catch (FileNotFoundException)
                {
                    return null;
                }
            }
            JObject o;
            try
            {
                o = Frames.ParseJson(text) as JObject;
            }
            catch (JsonException)
            {
                // A damaged file costs a new session, not a crash at start-up.
                return null;
            }
            if (o == null) return null;
            JToken id = o["sessionId"], token = o["resumeToken"], lastSeq = o["lastSeq"];
            if (id == null || id.Type != JTokenType.String || token == null || token.Type != JTokenType.String) return null;
            var number = lastSeq as JValue;
            long seq = number != null && number.Value is long ? Math.Max(0, (long)number.Value) : 0;
            return new StoredSession { SessionId = (string)id, ResumeToken = (string)token, LastSeq = seq };
        }

        public void Save(StoredSession session)
        {
            if (session == null) throw new ArgumentNullException("session");
            var o = new JObject();
            o["sessionId"] = session.SessionId;
            o["resumeToken"] = session.ResumeToken;
            o["lastSeq"] = session.LastSeq;
            byte[] bytes = new UTF8Encoding(false).GetBytes(o.ToString(Formatting.None));
            lock (gate)
            {
                string dir = Path.GetDirectoryName(path);
                if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
                string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
                try
                {
                    using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                    {
                        file.Write(bytes, 0, bytes.Length);
                        file.Flush(true);
                    }
                    if (File.Exists(path)) File.Replace(temp, path, null);
                    else File.Move(temp, path);
                }
                finally
                {
                    if (File.Exists(temp)) File.Delete(temp);
                }
            }
        }

        public void Clear()
        {
            lock (gate)
            {
                if (File.Exists(path)) File.Delete(path);
            }
        }
    }
}
