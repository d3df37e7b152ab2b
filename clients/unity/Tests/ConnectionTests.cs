using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Tether.Session.Tests
{
    [TestFixture, Timeout(15000)]
    public class ConnectionTests
    {
        [Test]
        public void A_hundred_sends_from_ten_threads_while_disconnected_cause_one_ConnectAsync()
        {
            using (var h = new Harness(stage: s => s.ConnectDelayMs = 100))
            {
                var start = new ManualResetEventSlim(false);
                int accepted = 0;
                var threads = new List<Thread>();
                for (int t = 0; t < 10; t++)
                {
                    int thread = t;
                    var worker = new Thread(() =>
                    {
                        start.Wait();
                        // No asserts on a worker thread: NUnit does not see them fail there.
                        for (int i = 0; i < 10; i++)
                            if (h.Client.Send(new JObject { { "t", thread }, { "i", i } })) Interlocked.Increment(ref accepted);
                    });
                    worker.Start();
                    threads.Add(worker);
                }
                start.Set();
                foreach (var worker in threads) Assert.IsTrue(worker.Join(3000), "a sender thread hung");
                Assert.AreEqual(100, accepted, "sends accepted");
                FakeSocket socket = h.Server.Socket(0);
                Wait.Until(() => socket.SentOfType("data").Count == 100, 3000, "100 data frames");
                Assert.AreEqual(1, h.Server.ConnectCalls, "ConnectAsync calls");
                Assert.AreEqual(1, socket.MaxConcurrentSends, "SendAsync calls in flight at once");
                var seqs = socket.SentOfType("data").Select(f => (long)f["seq"]).ToList();
                Assert.That(seqs, Is.EqualTo(Enumerable.Range(1, 100).Select(i => (long)i).ToList()));
                // Each thread's own messages keep their order.
                for (int t = 0; t < 10; t++)
                {
                    var mine = socket.SentOfType("data").Where(f => (int)f["body"]["t"] == t).Select(f => (int)f["body"]["i"]);
                    Assert.That(mine.ToList(), Is.EqualTo(Enumerable.Range(0, 10).ToList()));
                }
            }
        }

        [Test]
        public void ConnectAsync_from_many_callers_joins_one_attempt_and_completes_at_the_welcome()
        {
            using (var h = new Harness(stage: s => s.Answer = hello => null))
            {
                var calls = Enumerable.Range(0, 20).Select(_ => h.Client.ConnectAsync()).ToList();
                FakeSocket socket = h.Server.Socket(0);
                socket.NextOf("hello");
                Thread.Sleep(50);
                Assert.IsFalse(calls.Any(c => c.IsCompleted), "ConnectAsync completed before the welcome");
                Assert.AreEqual(SessionState.Handshaking, h.Client.State);
                socket.Push(h.Server.Welcome("s1", false, 0, 1, "new", "s1.t1"));
                foreach (var call in calls) Wait.For(call, 3000, "ConnectAsync");
                Assert.AreEqual(1, h.Server.ConnectCalls);
                Assert.AreEqual(SessionState.Active, h.Client.State);
                Assert.AreEqual("s1", h.Client.SessionId);
            }
        }

        [Test]
        public void A_message_sent_before_the_welcome_goes_out_after_it_numbered()
        {
            using (var h = new Harness(stage: s => s.Answer = hello => null))
            {
                Assert.IsTrue(h.Client.Send(Json.Body("early")));
                FakeSocket socket = h.Server.Socket(0);
                Assert.AreEqual("hello", (string)socket.Next()["type"]);
                Thread.Sleep(50);
                Assert.AreEqual(1, socket.Sent.Count, "nothing but the hello before the welcome: " + socket.Describe());
                Assert.AreEqual(1, h.Client.Pending);
                socket.Push(h.Server.Welcome("s1", false, 0, 1, "new", "s1.t1"));
                JObject data = socket.Next();
                Assert.AreEqual("data", (string)data["type"]);
                Assert.AreEqual(1L, (long)data["seq"]);
                Assert.AreEqual("early", (string)data["body"]["text"]);
                Wait.Until(() => h.Events.Count(r => r.NewSessions.Count) == 1, 3000, "NewSession");
                var first = h.Events.Read(r => r.NewSessions.Single());
                Assert.AreEqual(NewSessionReason.New, first.Reason);
                Assert.IsNull(first.PreviousSessionId);
                Assert.AreEqual(0, first.Undelivered.Count, "a first session takes what was queued for it");
            }
        }

        [Test]
        public void Hello_carries_the_context()
        {
            var context = new JObject { { "language", "fr" }, { "conversation", "c-42" } };
            using (var h = new Harness(o => o.Context = context))
            {
                JObject hello = h.Connect().Sent[0];
                Assert.AreEqual("hello", (string)hello["type"]);
                Assert.AreEqual(1, (int)hello["version"]);
                Assert.AreEqual(JTokenType.Null, hello["resumeToken"].Type);
                Assert.AreEqual(0L, (long)hello["lastSeq"]);
                Assert.IsTrue(JToken.DeepEquals(context, hello["context"]), "context: " + hello["context"]);
                Assert.IsNull(context.Parent, "the app's context token was re-parented into a frame");
            }
            using (var h = new Harness())
            {
                JObject hello = h.Connect().Sent[0];
                Assert.IsNull(hello["context"], "no context field without a context");
            }
        }

        [Test]
        public void Headers_go_with_the_upgrade()
        {
            var headers = new Dictionary<string, string> { { "Authorization", "Bearer app-key" } };
            using (var h = new Harness(o => o.Headers = headers))
            {
                FakeSocket socket = h.Connect();
                Assert.AreEqual("Bearer app-key", socket.Headers["Authorization"]);
                Assert.AreEqual(new Uri("ws://test.invalid/session"), socket.Url);
            }
        }

        [Test]
        public void A_receive_is_always_pending_while_connected()
        {
            using (var h = new Harness())
            {
                FakeSocket socket = h.Connect();
                for (int i = 1; i <= 20; i++) socket.PushData(i, i);
                Wait.Until(() => h.Events.Count(r => r.Messages.Count) == 20, 3000, "20 messages");
                Wait.Until(() => socket.Receiving, 1000, "a pending ReceiveAsync after the burst");
            }
        }

        [Test]
        public void A_connect_that_hangs_is_abandoned_after_ConnectTimeoutMs()
        {
            using (var h = new Harness(o => o.ConnectTimeoutMs = 100, s => s.HangConnect = true))
            {
                h.Client.Send(Json.Body("x"));
                Wait.Until(() => h.Server.ConnectCalls >= 2, 3000, "a second attempt after the timeout");
                h.WaitForLog("connect timed out after 100 ms");
                Assert.AreEqual(SessionState.Connecting, h.Client.State);
            }
        }

        [Test]
        public void A_failed_connect_is_retried_with_backoff()
        {
            using (var h = new Harness(o => o.Random = () => 0.999, s => s.FailConnect = true))
            {
                h.Client.Send(Json.Body("x"));
                Wait.Until(() => h.Server.ConnectCalls >= 3, 5000, "three attempts");
                long[] at = h.Server.ConnectTimes;
                // First retry ≤ 250 ms (here ~250), the next up to RetryBaseMs (here ~500).
                Assert.That(at[1] - at[0], Is.GreaterThanOrEqualTo(200L), "first retry");
                Assert.That(at[2] - at[1], Is.GreaterThanOrEqualTo(450L), "second retry");
                Assert.AreEqual(1, h.Client.Pending, "the message waits in the outbox");
            }
        }

        [Test]
        public void No_welcome_within_WelcomeTimeoutMs_drops_the_socket()
        {
            using (var h = new Harness(o => o.WelcomeTimeoutMs = 100, s => s.Answer = hello => null))
            {
                h.Client.Send(Json.Body("x"));
                FakeSocket first = h.Server.Socket(0);
                Wait.Until(() => first.Aborted, 2000, "the first socket to be dropped");
                h.Server.Socket(1);
                h.WaitForLog("no welcome within 100 ms");
            }
        }

        [Test]
        public void The_app_heartbeat_pings_on_the_cores_timer_without_the_queue_being_pumped()
        {
            var queue = new MainThreadQueue();
            using (var h = new Harness(o => { o.HeartbeatMs = 40; o.Dispatch = queue.Post; }))
            {
                h.Client.Send(Json.Body("x"));
                FakeSocket socket = h.Server.Socket(0);
                Wait.Until(() => socket.SentOfType("ping").Count >= 3, 2000, "three pings");
                Assert.That(queue.Count, Is.GreaterThan(0), "events wait for the pump");
            }
        }

        [Test]
        public void The_heartbeat_follows_the_welcome_when_not_set()
        {
            using (var h = new Harness(stage: s => s.HeartbeatMs = 50))
            {
                FakeSocket socket = h.Connect();
                Wait.Until(() => socket.SentOfType("ping").Count >= 2, 2000, "two pings at the welcome's 50 ms");
            }
        }

        [Test]
        public void A_silent_server_is_dropped_after_DeadAfterMs()
        {
            using (var h = new Harness(o => o.DeadAfterMs = 150, s => s.AutoPong = false))
            {
                FakeSocket first = h.Connect();
                Wait.Until(() => first.Aborted, 2000, "the silent socket to be dropped");
                h.WaitForLog("no frame from the server for");
                h.Server.Socket(1);
                Wait.Until(() => h.Events.Count(r => r.Resumed.Count) == 1, 3000, "the new socket resumes");
            }
        }

        [Test]
        public void A_server_that_answers_pings_is_not_dropped()
        {
            using (var h = new Harness(o => { o.HeartbeatMs = 30; o.DeadAfterMs = 300; }))
            {
                h.Connect();
                Wait.Stays(() => h.Server.SocketCount == 1, 400, "a live socket was dropped");
            }
        }
    }
}
