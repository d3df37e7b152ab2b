// A console host for the C# session client, driven by the vitest files next to it: commands
// arrive one per line on stdin, and everything the application would see is printed as one JSON
// line on stdout. The "main thread" is a pump thread draining the client's MainThreadQueue, so a
// test can stop pumping (a Unity main thread that is paused) or stop the whole process (SIGSTOP)
// and check what the app gets afterwards. Not part of the Unity package.
using System;
using System.Collections.Generic;
using System.Threading;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Tether.Session;

internal static class Driver
{
    private static readonly object WriteLock = new object();
    private static readonly MainThreadQueue Queue = new MainThreadQueue();
    private static volatile bool pumping = true;
    private static volatile bool running = true;

    private static int Main(string[] args)
    {
        var options = new SessionClientOptions();
        string store = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--url": options.Url = new Uri(args[i + 1]); break;
                case "--store": store = args[i + 1]; break;
                case "--context": options.Context = JToken.Parse(args[i + 1]); break;
                case "--max-messages": options.MaxMessages = int.Parse(args[i + 1]); break;
                default: Console.Error.WriteLine("unknown option " + args[i]); return 2;
            }
        }
        if (store != null) options.Store = new FileSessionStore(store);
        options.Dispatch = Queue.Post;
        options.Log = text => Print(new JObject { { "event", "log" }, { "line", text } });

        var pump = new Thread(() =>
        {
            while (running)
            {
                if (pumping) Queue.Pump();
                Thread.Sleep(5);
            }
        });
        pump.IsBackground = true;
        pump.Start();

        var client = new SessionClient(options);
        client.StateChanged += (to, from) =>
            Print(new JObject { { "event", "state" }, { "to", to.ToString() }, { "from", from.ToString() } });
        client.Message += (body, seq) =>
            Print(new JObject { { "event", "message" }, { "seq", seq }, { "body", body } });
        client.Resumed += e => Print(new JObject
        {
            { "event", "resumed" }, { "sessionId", e.SessionId }, { "resent", e.Resent }, { "missed", e.Missed },
        });
        client.NewSession += e => Print(new JObject
        {
            { "event", "newSession" }, { "sessionId", e.SessionId }, { "reason", e.Reason.ToString() },
            { "previousSessionId", e.PreviousSessionId }, { "undelivered", new JArray(e.Undelivered) },
        });
        client.Dropped += bodies => Print(new JObject { { "event", "dropped" }, { "bodies", new JArray(bodies) } });
        client.Closed += reason => Print(new JObject { { "event", "closed" }, { "reason", reason.ToString() } });
        Print(new JObject { { "event", "ready" } });

        string line;
        while ((line = Console.ReadLine()) != null)
        {
            var space = line.IndexOf(' ');
            var command = space < 0 ? line : line.Substring(0, space);
            var rest = space < 0 ? "" : line.Substring(space + 1);
            switch (command)
            {
                case "connect":
                    client.ConnectAsync();
                    Done(command, true);
                    break;
                case "send":
                    Done(command, client.Send(JToken.Parse(rest)));
                    break;
                case "send-many":
                    SendMany(client, rest);
                    break;
                case "pump":
                    pumping = rest == "on";
                    Done(command, true);
                    break;
                case "pause":
                    client.Pause();
                    Done(command, true);
                    break;
                case "resume":
                    client.Resume();
                    Done(command, true);
                    break;
                case "close":
                    client.CloseAsync(rest != "keep").Wait(10000);
                    Done(command, true);
                    break;
                case "status":
                    Print(new JObject
                    {
                        { "event", "status" }, { "state", client.State.ToString() },
                        { "sessionId", client.SessionId }, { "pending", client.Pending },
                    });
                    break;
                case "exit":
                    running = false;
                    client.Dispose();
                    Queue.Pump();
                    Done(command, true);
                    return 0;
                default:
                    Print(new JObject { { "event", "error" }, { "line", line } });
                    break;
            }
        }
        running = false;
        client.Dispose();
        return 0;
    }

    /// <summary>`send-many N THREADS PREFIX`: N messages {"n": i, "thread": t, "text": PREFIX-i} from THREADS threads at once.</summary>
    private static void SendMany(SessionClient client, string rest)
    {
        var parts = rest.Split(' ');
        int n = int.Parse(parts[0]), threads = int.Parse(parts[1]);
        string prefix = parts[2];
        int accepted = 0, next = -1;
        var start = new ManualResetEventSlim(false);
        var workers = new List<Thread>();
        for (int t = 0; t < threads; t++)
        {
            int thread = t;
            var worker = new Thread(() =>
            {
                start.Wait();
                int i;
                while ((i = Interlocked.Increment(ref next)) < n)
                {
                    var body = new JObject { { "n", i }, { "thread", thread }, { "text", prefix + "-" + i } };
                    if (client.Send(body)) Interlocked.Increment(ref accepted);
                }
            });
            worker.Start();
            workers.Add(worker);
        }
        start.Set();
        foreach (var worker in workers) worker.Join();
        Print(new JObject { { "event", "done" }, { "command", "send-many" }, { "ok", accepted == n }, { "accepted", accepted } });
    }

    private static void Done(string command, bool ok)
    {
        Print(new JObject { { "event", "done" }, { "command", command }, { "ok", ok } });
    }

    private static void Print(JObject line)
    {
        line["at"] = DateTime.UtcNow.ToString("o");
        lock (WriteLock)
        {
            Console.Out.WriteLine(line.ToString(Formatting.None));
            Console.Out.Flush();
        }
    }
}
