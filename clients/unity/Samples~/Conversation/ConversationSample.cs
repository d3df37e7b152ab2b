// A Unity script for the conversation example (examples/conversation: `node
// examples/conversation/server.mjs`). Put a SessionBehaviour on a GameObject (URL
// ws://127.0.0.1:8080/session, context {"language":"en"}), this script beside it, and wire a
// UI InputField's On End Edit to SendLine. The conversation shows in the Console and in the
// Transcript field of this component's Inspector.
//
// What it demonstrates: the app always knows whether it continues the conversation it had or
// starts a new one, and why — the first event after every (re)connect says so — and messages
// typed while the connection was down are sent after the resume, or handed back when the
// session could not be resumed.
using System.Collections.Generic;
using Newtonsoft.Json.Linq;
using Tether.Session;
using Tether.Session.Unity;
using UnityEngine;

namespace Tether.Session.Samples
{
    public sealed class ConversationSample : MonoBehaviour
    {
        [Tooltip("The SessionBehaviour to talk through (usually on the same GameObject).")]
        [SerializeField]
        SessionBehaviour session;

        [Tooltip("Sent once the first session is established.")]
        [SerializeField]
        string firstLine = "Hello!";

        [Header("Shown for the demo")]
        [SerializeField]
        string conversationId = "";

        [SerializeField]
        string notice = "";

        [TextArea(8, 20)]
        [SerializeField]
        string transcript = "";

        readonly List<string> lines = new List<string>();
        bool greeted;

        /// <summary>The conversation the server says this is (its "conversation" message).</summary>
        public string ConversationId { get { return conversationId; } }

        /// <summary>What the last (re)connect meant: resumed, or a new conversation and why.</summary>
        public string Notice { get { return notice; } }

        /// <summary>The last 40 lines, for a UI Text.</summary>
        public string Transcript { get { return transcript; } }

        /// <summary>Sends one line of the user's (wire a UI input's end-of-edit event here).</summary>
        public void SendLine(string text)
        {
            if (string.IsNullOrEmpty(text) || session == null) return;
            var body = new JObject { { "text", text } };
            if (session.Send(body)) Show("you: " + text);
            else Show("(not sent: the outbox is full or the session is closed)");
        }

        void OnEnable()
        {
            if (session == null)
            {
                Debug.LogError("ConversationSample: set its SessionBehaviour in the Inspector");
                return;
            }
            session.Message += OnMessage;
            session.Resumed += OnResumed;
            session.NewSession += OnNewSession;
            session.Closed += OnClosed;
        }

        void OnDisable()
        {
            if (session == null) return;
            session.Message -= OnMessage;
            session.Resumed -= OnResumed;
            session.NewSession -= OnNewSession;
            session.Closed -= OnClosed;
        }

        // The conversation server's messages (examples/conversation/app.mjs):
        // {kind:"conversation", conversationId, language, text, continuedFrom?},
        // {kind:"reply", text}, {kind:"tick", n, of}.
        void OnMessage(JToken body, long seq)
        {
            var kind = (string)body["kind"];
            if (kind == "conversation")
            {
                conversationId = (string)body["conversationId"];
                Show("server: " + (string)body["text"]);
                var from = body["continuedFrom"];
                if (from != null && from.Type == JTokenType.String) Show("(continues " + (string)from + ")");
            }
            else if (kind == "tick")
            {
                Show("tick " + (long)body["n"] + " of " + (long)body["of"]);
            }
            else
            {
                Show("server: " + (string)body["text"]);
            }
        }

        void OnResumed(ResumedEventArgs e)
        {
            notice = "Resumed the same conversation.";
            if (e.Missed > 0) notice += " " + e.Missed + " server messages were lost while away.";
            Show("(" + notice + ")");
        }

        void OnNewSession(NewSessionEventArgs e)
        {
            notice = Why(e.Reason);
            Show("(" + notice + ")");
            if (e.Undelivered != null && e.Undelivered.Count > 0)
                Show("(" + e.Undelivered.Count + " lines were meant for the previous conversation and not sent)");
            if (!greeted && !string.IsNullOrEmpty(firstLine))
            {
                greeted = true;
                SendLine(firstLine);
            }
        }

        void OnClosed(ClosedReason reason)
        {
            notice = reason == ClosedReason.Replaced
                ? "This conversation continues in another window or device."
                : "Disconnected.";
            Show("(" + notice + ")");
        }

        static string Why(NewSessionReason reason)
        {
            switch (reason)
            {
                case NewSessionReason.New: return "A new conversation started.";
                case NewSessionReason.Expired: return "A new conversation started: the previous one expired while the app was away.";
                case NewSessionReason.Unknown: return "A new conversation started: the server no longer knew the previous one.";
                default: return "A new conversation started: the saved session was not valid.";
            }
        }

        void Show(string line)
        {
            Debug.Log("[conversation] " + line);
            lines.Add(line);
            if (lines.Count > 40) lines.RemoveAt(0);
            transcript = string.Join("\n", lines.ToArray());
        }
    }
}
