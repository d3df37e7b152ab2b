// A console client of the conversation example (examples/conversation), on the same engine-free
// core a Unity game uses: run the server (`node examples/conversation/server.mjs`), then this
// under Mono (see README.md next to this file). Each line typed is sent as {"text": line};
// the server's messages are printed, and so is what every (re)connect meant: the same
// conversation resumed, or a new one and why.
//
// It is built like a game: the client's events are queued and run on the program's one main
// loop (as SessionBehaviour runs them in Update), and stdin is read on a thread of its own.
//
// Imported into a Unity project (Package Manager, Samples) it compiles to nothing: Unity defines
// UNITY_5_3_OR_NEWER, and a console program has no place in a player.
#if !UNITY_5_3_OR_NEWER
using System;
using System.IO;
using System.Threading;
using Newtonsoft.Json.Linq;
using Tether.Session;

namespace Tether.Session.Samples
{
    public static class ConversationConsole
    {
        const string Usage =
            "usage: mono ConversationConsole.exe [--url ws://127.0.0.1:8080/session] [--lang en|fr|zh]\n" +
            "                                    [--store FILE | --no-store] [--verbose]\n" +
            "Lines are sent as {\"text\": line}. /quit (or end of input) leaves the session resumable;\n" +
            "/end ends it on the server. Try /count 20 or /lang fr.";

        public static int Main(string[] args)
        {
            var url = "ws://127.0.0.1:8080/session";
            string language = null;
            var storePath = "conversation-session.json";
            var verbose = false;
            for (var i = 0; i < args.Length; i++)
            {
                var arg = args[i];
                var hasValue = i + 1 < args.Length;
                if (arg == "--url" && hasValue) url = args[++i];
                else if (arg == "--lang" && hasValue) language = args[++i];
                else if (arg == "--store" && hasValue) storePath = args[++i];
                else if (arg == "--no-store") storePath = null;
                else if (arg == "--verbose") verbose = true;
                else
                {
                    Console.Error.WriteLine(arg == "--help" || arg == "-h" ? Usage : "unknown argument " + arg + "\n" + Usage);
                    return arg == "--help" || arg == "-h" ? 0 : 2;
                }
            }
            Uri uri;
            if (!Uri.TryCreate(url, UriKind.Absolute, out uri) || (uri.Scheme != "ws" && uri.Scheme != "wss"))
            {
                Console.Error.WriteLine("--url must be a ws:// or wss:// URL");
                return 2;
            }

            // Line by line, even into a pipe: a reader (or a test) sees each line as it happens.
            Console.SetOut(new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true });

            var queue = new MainThreadQueue();
            var wake = new AutoResetEvent(false);
            var options = new SessionClientOptions
            {
                Url = uri,
                // The server's set-up of a new session reads the language from here.
                Context = language == null ? null : new JObject { { "language", language } },
                Store = storePath == null ? null : new FileSessionStore(storePath),
                Dispatch = action =>
                {
                    queue.Post(action);
                    wake.Set();
                },
                Log = verbose ? (Action<string>)(line => Console.Error.WriteLine("[tether] " + line)) : null,
            };

            var quit = false;
            var end = false;
            using (var client = new SessionClient(options))
            {
                client.Message += (body, seq) => Console.WriteLine(Describe(body));
                client.Resumed += e => Console.WriteLine(
                    "* resumed the same conversation (session " + e.SessionId + "; " + e.Resent +
                    " of ours sent again, " + e.Missed + " of the server's lost)");
                client.NewSession += e =>
                {
                    Console.WriteLine("* new session " + e.SessionId + ": " + Why(e.Reason) +
                                      (e.PreviousSessionId == null ? "" : " (previous " + e.PreviousSessionId + ")"));
                    foreach (var body in e.Undelivered)
                        Console.WriteLine("* not delivered to the previous conversation: " + body.ToString(Newtonsoft.Json.Formatting.None));
                };
                client.Dropped += bodies => Console.WriteLine("* dropped " + bodies.Count + " queued messages (outbox full)");
                client.Closed += reason =>
                {
                    // Our own close at the end says what it did below.
                    if (reason == ClosedReason.Replaced)
                        Console.WriteLine("* closed: another connection took this session over");
                    else if (!quit) Console.WriteLine("* closed");
                    quit = true;
                };
                if (verbose) client.StateChanged += (to, from) => Console.Error.WriteLine("[tether] " + from + " -> " + to);

                var reader = new Thread(() =>
                {
                    string line;
                    while ((line = Console.In.ReadLine()) != null)
                    {
                        var text = line;
                        queue.Post(() =>
                        {
                            if (text == "/quit") quit = true;
                            else if (text == "/end") quit = end = true;
                            else if (text.Length > 0 && !client.Send(new JObject { { "text", text } }))
                                Console.WriteLine("* not sent: the outbox is full or the session is closed");
                        });
                        wake.Set();
                    }
                    queue.Post(() => quit = true);
                    wake.Set();
                });
                reader.IsBackground = true;
                reader.Start();
                Console.CancelKeyPress += (sender, e) =>
                {
                    e.Cancel = true;
                    queue.Post(() => quit = true);
                    wake.Set();
                };

                client.ConnectAsync();
                Console.WriteLine("* connecting to " + uri + (language == null ? "" : " (language " + language + ")"));
                // The main loop: everything the client reports runs here, in order.
                while (!quit)
                {
                    wake.WaitOne(100);
                    queue.Pump();
                }
                // end: the server forgets the conversation. Otherwise it stays resumable for the
                // server's resume window, and the next run (same --store) continues it.
                var closing = client.CloseAsync(end);
                try { closing.Wait(2000); } catch (AggregateException) { }
                queue.Pump();
                Console.WriteLine(end ? "* ended the session" : "* left the session resumable");
            }
            return 0;
        }

        // The conversation server's messages (examples/conversation/app.mjs).
        static string Describe(JToken body)
        {
            var o = body as JObject;
            if (o == null) return "< " + body;
            var kind = (string)o["kind"];
            if (kind == "conversation")
            {
                var line = "[conversation " + (string)o["conversationId"] + ", " + (string)o["language"] + "] " + (string)o["text"];
                var from = o["continuedFrom"];
                if (from != null && from.Type == JTokenType.String) line += " (continues " + (string)from + ")";
                return line;
            }
            if (kind == "tick") return "tick " + o["n"] + " of " + o["of"];
            if (kind == "reply") return "< " + (string)o["text"];
            return "< " + o.ToString(Newtonsoft.Json.Formatting.None);
        }

        static string Why(NewSessionReason reason)
        {
            switch (reason)
            {
                case NewSessionReason.New: return "a new conversation";
                case NewSessionReason.Expired: return "the previous conversation expired";
                case NewSessionReason.Unknown: return "the server no longer knew the previous conversation";
                default: return "the saved session was refused";
            }
        }
    }
}
#endif
