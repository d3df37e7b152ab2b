using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Tether.Session.Tests
{
    [TestFixture, Timeout(15000)]
    public class LifecycleTests
    {
        [Test]
        public void Pause_flushes_the_ack_then_sends_pausing()
        {
            using (var h = new Harness(o => { o.AckDelayMs = 5000; o.AckEvery = 100; }))
            {
                FakeSocket socket = h.Connect();
                socket.PushData(1, "a");
                socket.PushData(2, "b");
                Wait.Until(() => h.Events.Count(r => r.Messages.Count) == 2, 3000, "two messages");
                Assert.AreEqual(0, socket.SentOfType("ack").Count, "the ack is still waiting");
                h.Client.Pause();
                List<JObject> sent = null;
                Wait.Until(() => (sent = socket.Sent).Count >= 3, 3000, "the ack and the pausing hint");
                Assert.AreEqual("ack", (string)sent[1]["type"], socket.Describe());
                Assert.AreEqual(2L, (long)sent[1]["seq"]);
                Assert.AreEqual("pausing", (string)sent[2]["type"], socket.Describe());
            }
        }

        [Test]
        public void Resume_pings_at_once()
        {
            using (var h = new Harness())
            {
                FakeSocket socket = h.Connect();
                h.Client.Resume();
                socket.NextOf("ping", 1000);
                Wait.Stays(() => h.Server.SocketCount == 1, 200, "a socket that answered was replaced");
            }
        }

        [Test]
        public void Resume_replaces_a_socket_that_does_not_answer_at_once()
        {
            using (var h = new Harness(o => { o.HeartbeatMs = 100; o.DeadAfterMs = 10000; }, s => s.AutoPong = false))
            {
                FakeSocket first = h.Connect();
                h.Client.Resume();
                Wait.Until(() => first.Aborted, 3000, "the silent socket to be dropped");
                long droppedAt = h.Server.Clock.ElapsedMilliseconds;
                h.Server.Socket(1);
                Assert.That(h.Server.ConnectTimes[1] - droppedAt, Is.LessThan(300L), "reconnected without a backoff");
                h.WaitForLog("no answer within 100 ms of the app coming back");
            }
        }

        [Test]
        public void Resume_skips_the_backoff()
        {
            using (var h = new Harness(o => { o.FirstRetryMaxMs = 10000; o.Random = () => 0.999; }, s => s.FailConnect = true))
            {
                h.Client.Send(Json.Body("x"));
                h.Server.Socket(0);
                Thread.Sleep(100);
                Assert.AreEqual(1, h.Server.ConnectCalls, "waiting out a 10 s backoff");
                long resumedAt = h.Server.Clock.ElapsedMilliseconds;
                h.Client.Resume();
                h.Server.Socket(1);
                Assert.That(h.Server.ConnectTimes[1] - resumedAt, Is.LessThan(300L));
            }
        }

        [Test]
        public void CloseAsync_with_end_sends_end_then_closes_1000_and_never_reconnects()
        {
            using (var h = new Harness(o => { o.AckDelayMs = 5000; o.AckEvery = 100; }))
            {
                FakeSocket socket = h.Connect();
                socket.PushData(1, "a");
                Wait.Until(() => h.Events.Count(r => r.Messages.Count) == 1, 3000, "a message");
                Wait.For(h.Client.CloseAsync(), 3000, "CloseAsync");
                var types = socket.Sent.Select(f => (string)f["type"]).ToList();
                Assert.That(types, Is.EqualTo(new[] { "hello", "ack", "end" }), socket.Describe());
                Assert.AreEqual(1000, socket.ClosedWith);
                Assert.AreEqual(SessionState.Closed, h.Client.State);
                Wait.Until(() => h.Events.Count(r => r.Closed.Count) == 1, 3000, "Closed");
                Assert.AreEqual(ClosedReason.Closed, h.Events.Read(r => r.Closed[0]));
                Assert.IsFalse(h.Client.Send(1));
                Wait.Stays(() => h.Server.SocketCount == 1, 300, "reconnected after CloseAsync");
                Assert.AreEqual(0, h.Client.LiveTimers);
            }
        }

        [Test]
        public void CloseAsync_without_end_closes_1000_and_sends_no_end()
        {
            using (var h = new Harness())
            {
                FakeSocket socket = h.Connect();
                Wait.For(h.Client.CloseAsync(false), 3000, "CloseAsync(false)");
                Assert.AreEqual(0, socket.SentOfType("end").Count, socket.Describe());
                Assert.AreEqual(1000, socket.ClosedWith);
            }
        }

        [Test]
        public void CloseAsync_cuts_a_server_that_does_not_answer_the_close()
        {
            using (var h = new Harness(stage: s => s.EchoClose = false))
            {
                FakeSocket socket = h.Connect();
                Task close = h.Client.CloseAsync();
                Wait.For(close, 3000, "CloseAsync bounded by its grace");
                Assert.IsTrue(socket.Aborted);
                Wait.For(h.Client.LoopTask, 1000, "the loop to end");
            }
        }

        [Test]
        public void CloseAsync_while_connecting_ends_the_attempt()
        {
            using (var h = new Harness(stage: s => s.HangConnect = true))
            {
                Task connect = h.Client.ConnectAsync();
                h.Server.Socket(0);
                Wait.For(h.Client.CloseAsync(), 3000, "CloseAsync");
                Wait.Until(() => connect.IsFaulted, 1000, "ConnectAsync to fail");
                Wait.For(h.Client.LoopTask, 1000, "the loop to end");
                Wait.Stays(() => h.Server.SocketCount == 1, 300, "a new attempt after the close");
            }
        }

        [Test]
        public void Events_are_delivered_in_order_through_the_queue_only_when_pumped()
        {
            var queue = new MainThreadQueue();
            using (var h = new Harness(o => o.Dispatch = queue.Post))
            {
                var threads = new List<int>();
                h.Client.Message += (body, seq) => threads.Add(Thread.CurrentThread.ManagedThreadId);
                FakeSocket socket = h.Connect();
                socket.PushData(1, "a");
                socket.PushData(2, "b");
                Wait.Until(() => queue.Count >= 6, 3000, "six events queued (" + queue.Count + ")");
                Assert.AreEqual(0, h.Events.Events.Count, "a handler ran before the pump");
                Assert.AreEqual(6, queue.Pump());
                Assert.That(h.Events.Events, Is.EqualTo(new[]
                {
                    "state Idle>Connecting", "state Connecting>Handshaking", "state Handshaking>Active",
                    "newSession s1 New", "message 1", "message 2",
                }));
                Assert.That(threads, Is.EqualTo(new[] { Thread.CurrentThread.ManagedThreadId, Thread.CurrentThread.ManagedThreadId }));
            }
        }

        [Test]
        public void A_throwing_event_handler_is_logged_and_the_client_goes_on()
        {
            using (var h = new Harness())
            {
                h.Client.Message += (body, seq) => { throw new System.InvalidOperationException("handler bug"); };
                FakeSocket socket = h.Connect();
                socket.PushData(1, "a");
                socket.PushData(2, "b");
                Wait.Until(() => h.Events.Count(r => r.Messages.Count) == 2, 3000, "both messages");
                h.WaitForLog("handler bug");
                Assert.AreEqual(1, h.Server.SocketCount);
            }
        }

        [Test]
        public void Dispose_leaves_no_thread_running_and_no_further_ConnectAsync()
        {
            // Active, backing off, and in the middle of a connect.
            var stages = new System.Action<FakeServer>[] { s => { }, s => s.FailConnect = true, s => s.HangConnect = true };
            foreach (var stage in stages)
            {
                var h = new Harness(o => o.HeartbeatMs = 20, stage);
                h.Client.Send(Json.Body("x"));
                FakeSocket socket = h.Server.Socket(0);
                Thread.Sleep(60);
                int connects = h.Server.ConnectCalls;
                h.Client.Dispose();
                Assert.AreEqual(SessionState.Closed, h.Client.State);
                Wait.For(h.Client.LoopTask, 2000, "the connection loop to end");
                Assert.AreEqual(0, h.Client.LiveTimers, "timers alive after Dispose");
                Assert.IsTrue(socket.Disposed, "the socket was not disposed");
                int sent = socket.Sent.Count;
                Wait.Stays(() => h.Server.ConnectCalls == connects && socket.Sent.Count == sent, 400, "the client did something after Dispose");
                Assert.IsFalse(h.Client.Send(1));
                Assert.IsTrue(h.Client.ConnectAsync().IsFaulted);
                h.Client.Dispose();
                Wait.For(h.Client.CloseAsync(), 1000, "CloseAsync after Dispose");
            }
        }
    }
}
