using System;
using System.Globalization;
using System.IO;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Tether.Session
{
    internal enum ServerFrameType
    {
        Welcome,
        Data,
        Ack,
        Pong,
    }

    /// <summary>One server frame, read and checked (docs/session-protocol.md §2).</summary>
    internal sealed class ServerFrame
    {
        public ServerFrameType Type;
        /// <summary>data, ack.</summary>
        public long Seq;
        /// <summary>data.</summary>
        public JToken Body;
        // welcome:
        public string SessionId;
        public string ResumeToken;
        public bool Resumed;
        /// <summary>null unless the welcome is not a resume.</summary>
        public string Reason;
        public long LastSeq;
        public long ReplayFrom;
        public long HeartbeatMs;
        public long ResumeWindowMs;
    }

    /// <summary>
    /// The wire format by hand, as JObjects and strings: no reflection-based serialisation, which
    /// IL2CPP would strip, and only Newtonsoft APIs that 6.x and Unity's 13.x share.
    /// </summary>
    internal static class Frames
    {
        public const int ProtocolVersion = 1;
        /// <summary>The largest server frame read (the server's own default limit).</summary>
        public const int MaxFrameBytes = 1 << 20;
        /// <summary>A hostile frame nested this deep is refused before it costs a deep recursion.</summary>
        private const int MaxDepth = 64;
        /// <summary>Reasons travel to logs; a frame's own text must not make them unbounded.</summary>
        private const int MaxReasonLength = 200;
        /// <summary>The largest integer a JavaScript server can send exactly.</summary>
        private const long MaxSafeInteger = 9007199254740991;

        public const string Ping = "{\"type\":\"ping\"}";
        public const string Pausing = "{\"type\":\"pausing\"}";
        public const string End = "{\"type\":\"end\"}";

        public static string Hello(string resumeToken, long lastSeq, JToken context)
        {
            var hello = new JObject();
            hello["type"] = "hello";
            hello["version"] = ProtocolVersion;
            hello["resumeToken"] = resumeToken == null ? JValue.CreateNull() : new JValue(resumeToken);
            hello["lastSeq"] = lastSeq;
            // A copy: adding the app's own token would re-parent it into this frame.
            if (context != null) hello["context"] = context.DeepClone();
            return hello.ToString(Formatting.None);
        }

        /// <summary>A body's JSON, built once: the same text is measured, stored and resent.</summary>
        public static string Body(JToken body)
        {
            return body == null ? "null" : body.ToString(Formatting.None);
        }

        public static string Data(long seq, string bodyJson)
        {
            return "{\"type\":\"data\",\"seq\":" + seq.ToString(CultureInfo.InvariantCulture) + ",\"body\":" + bodyJson + "}";
        }

        public static string Ack(long seq)
        {
            return "{\"type\":\"ack\",\"seq\":" + seq.ToString(CultureInfo.InvariantCulture) + "}";
        }

        public static int Utf8Length(string text)
        {
            return Encoding.UTF8.GetByteCount(text);
        }

        /// <summary>
        /// Parses JSON the way the server meant it: ISO dates stay strings (Newtonsoft would turn
        /// them into DateTime and write them back differently), and depth is bounded.
        /// </summary>
        public static JToken ParseJson(string text)
        {
            using (var reader = new JsonTextReader(new StringReader(text)))
            {
                reader.DateParseHandling = DateParseHandling.None;
                reader.MaxDepth = MaxDepth;
                JToken token = JToken.ReadFrom(reader);
                if (reader.Read()) throw new JsonReaderException("more than one JSON value");
                return token;
            }
        }

        /// <summary>Reads one server frame; never throws, a bad frame is a reason to drop the socket.</summary>
        public static bool TryParseServer(string text, out ServerFrame frame, out string error)
        {
            frame = null;
            error = null;
            if (text == null) return Fail("an empty frame", out error);
            // Characters never outnumber UTF-8 bytes, so the cheap test first.
            if (text.Length > MaxFrameBytes || (text.Length > MaxFrameBytes / 3 && Utf8Length(text) > MaxFrameBytes))
                return Fail("frame over " + MaxFrameBytes + " bytes", out error);
            JToken token;
            try
            {
                token = ParseJson(text);
            }
            catch (JsonException e)
            {
                return Fail("not JSON (" + e.Message + ")", out error);
            }
            var o = token as JObject;
            if (o == null) return Fail("not a JSON object", out error);
            string type = String(o["type"]);
            switch (type)
            {
                case "welcome":
                    return ReadWelcome(o, out frame, out error);
                case "data":
                case "ack":
                {
                    long seq;
                    if (!Seq(o["seq"], out seq) || seq == 0) return Fail(type + " needs a positive seq", out error);
                    frame = new ServerFrame { Type = type == "data" ? ServerFrameType.Data : ServerFrameType.Ack, Seq = seq };
                    if (type == "data") frame.Body = o["body"] ?? JValue.CreateNull();
                    return true;
                }
                case "pong":
                    frame = new ServerFrame { Type = ServerFrameType.Pong };
                    return true;
                case null:
                    return Fail("a frame without a type", out error);
                default:
                    return Fail("unknown frame type \"" + type + "\"", out error);
            }
        }

        private static bool ReadWelcome(JObject o, out ServerFrame frame, out string error)
        {
            frame = null;
            var w = new ServerFrame { Type = ServerFrameType.Welcome };
            w.SessionId = String(o["sessionId"]);
            w.ResumeToken = String(o["resumeToken"]);
            if (w.SessionId == null || w.ResumeToken == null)
                return Fail("welcome without sessionId or resumeToken", out error);
            JToken resumed = o["resumed"];
            if (resumed == null || resumed.Type != JTokenType.Boolean) return Fail("welcome without resumed", out error);
            w.Resumed = (bool)resumed;
            w.Reason = String(o["reason"]);
            if (!Seq(o["lastSeq"], out w.LastSeq) || !Seq(o["replayFrom"], out w.ReplayFrom)
                || !Seq(o["heartbeatMs"], out w.HeartbeatMs) || !Seq(o["resumeWindowMs"], out w.ResumeWindowMs))
                return Fail("welcome with a bad number", out error);
            frame = w;
            error = null;
            return true;
        }

        private static string String(JToken token)
        {
            return token != null && token.Type == JTokenType.String ? (string)token : null;
        }

        /// <summary>A non-negative integer a JavaScript peer can represent exactly.</summary>
        private static bool Seq(JToken token, out long value)
        {
            value = 0;
            var v = token as JValue;
            if (v == null || v.Type != JTokenType.Integer || !(v.Value is long)) return false;
            value = (long)v.Value;
            return value >= 0 && value <= MaxSafeInteger;
        }

        private static bool Fail(string reason, out string error)
        {
            error = reason.Length > MaxReasonLength ? reason.Substring(0, MaxReasonLength) + "…" : reason;
            return false;
        }
    }
}
