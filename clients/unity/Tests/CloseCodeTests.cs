using System;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Tether.Session.Tests
{
    /// <summary>docs/session-protocol.md §6, one code at a time.</summary>
    [TestFixture, Timeout(15000)]
    public class CloseCodeTests
    {
        // Random 0.999 and FirstRetryMaxMs 600: a backoff's first retry waits ~600 ms, "at once"
        // only for the thread pool (bounds wide enough for a loaded machine).
        private const long AtOnceMs = 300;
        private const long BackoffMs = 500;

        private static Harness Create(Action<SessionClientOptions> configure = null)
        {
            return new Harness(o =>
            {
                o.Random = () => 0.999;
                o.FirstRetryMaxMs = 600;
                if (configure != null) configure(o);
            });
        }

        /// <summary>Closes the first socket with a code; returns the ms until the next ConnectAsync.</summary>
        private static long CloseAndTimeReconnect(Harness h, FakeSocket socket, int code)
        {
            long closedAt = h.Server.Clock.ElapsedMilliseconds;
            socket.PushClose(code, "test");
            h.Server.Socket(1);
            return h.Server.ConnectTimes[1] - closedAt;
        }

        private static void ReconnectsWithBackoffAndResumes(int code)
        {
            using (var h = Create())
            {
                FakeSocket first = h.Connect();
                long after = CloseAndTimeReconnect(h, first, code);
                Assert.That(after, Is.GreaterThanOrEqualTo(BackoffMs), "close " + code + " reconnected after " + after + " ms");
                Assert.That(after, Is.LessThanOrEqualTo(2000L), "the first retry is at most FirstRetryMaxMs");
                Assert.AreEqual("s1.t1", (string)h.Server.Last.NextOf("hello")["resumeToken"]);
                Wait.Until(() => h.Events.Count(r => r.Resumed.Count) == 1, 3000, "resumed after " + code);
            }
        }

        [Test]
        public void Close_1000_does_not_reconnect()
        {
            using (var h = Create())
            {
                FakeSocket first = h.Connect();
                first.PushClose(1000);
                h.WaitForState(SessionState.Idle);
                Wait.Stays(() => h.Server.SocketCount == 1, 600, "reconnected after 1000");
                Assert.IsTrue(h.Client.Send(Json.Body("later")), "the app may start again");
                h.Server.Socket(1);
            }
        }

        [Test]
        public void Close_1001_reconnects_with_backoff_and_resumes()
        {
            ReconnectsWithBackoffAndResumes(1001);
        }

        [Test]
        public void Close_4400_reconnects_with_backoff_and_resumes()
        {
            ReconnectsWithBackoffAndResumes(4400);
        }

        [Test]
        public void Close_1006_and_unknown_codes_reconnect_with_backoff_and_resume()
        {
            ReconnectsWithBackoffAndResumes(1006);
            ReconnectsWithBackoffAndResumes(4999);
        }

        [Test]
        public void Close_4401_forgets_the_token_reconnects_at_once_and_reports_BadToken()
        {
            using (var h = Create())
            {
                FakeSocket first = h.Connect();
                first.PushData(1, "x");
                Wait.Until(() => h.Events.Count(r => r.Messages.Count) == 1, 3000, "a message");
                long after = CloseAndTimeReconnect(h, first, 4401);
                Assert.That(after, Is.LessThan(AtOnceMs), "4401 reconnected after " + after + " ms");
                JObject hello = h.Server.Last.NextOf("hello");
                Assert.AreEqual(JTokenType.Null, hello["resumeToken"].Type);
                Assert.AreEqual(0L, (long)hello["lastSeq"], "no lastSeq without a token");
                Wait.Until(() => h.Events.Count(r => r.NewSessions.Count) == 2, 3000, "a NewSession");
                var fresh = h.Events.Read(r => r.NewSessions[1]);
                Assert.AreEqual(NewSessionReason.BadToken, fresh.Reason);
                Assert.AreEqual("s1", fresh.PreviousSessionId);
                Assert.AreEqual("s2", fresh.SessionId);
            }
        }

        [Test]
        public void Close_4408_reconnects_at_once_and_resumes()
        {
            using (var h = Create())
            {
                FakeSocket first = h.Connect();
                long after = CloseAndTimeReconnect(h, first, 4408);
                Assert.That(after, Is.LessThan(AtOnceMs), "4408 reconnected after " + after + " ms");
                Assert.AreEqual("s1.t1", (string)h.Server.Last.NextOf("hello")["resumeToken"]);
                Wait.Until(() => h.Events.Count(r => r.Resumed.Count) == 1, 3000, "the resume");
            }
        }

        [Test]
        public void Close_4409_stops_with_Closed_Replaced()
        {
            using (var h = Create())
            {
                FakeSocket first = h.Connect();
                first.PushClose(4409);
                h.WaitForState(SessionState.Closed);
                Wait.Until(() => h.Events.Count(r => r.Closed.Count) == 1, 3000, "Closed");
                Assert.AreEqual(ClosedReason.Replaced, h.Events.Read(r => r.Closed[0]));
                Assert.IsFalse(h.Client.Send(Json.Body("x")), "Send after replaced");
                Task connect = h.Client.ConnectAsync();
                Assert.IsTrue(connect.IsFaulted, "ConnectAsync after replaced");
                Wait.Stays(() => h.Server.SocketCount == 1, 500, "reconnected after 4409");
                Wait.For(h.Client.LoopTask, 2000, "the loop to end");
                Assert.AreEqual(0, h.Client.LiveTimers);
            }
        }

        [Test]
        public void Close_4410_forgets_the_token_reconnects_at_once_and_reports_Expired()
        {
            using (var h = Create())
            {
                FakeSocket first = h.Connect();
                h.Client.Send(Json.Body("unconfirmed"));
                Wait.Until(() => first.SentOfType("data").Count == 1, 3000, "the message on the wire");
                long after = CloseAndTimeReconnect(h, first, 4410);
                Assert.That(after, Is.LessThan(AtOnceMs), "4410 reconnected after " + after + " ms");
                Assert.AreEqual(JTokenType.Null, h.Server.Last.NextOf("hello")["resumeToken"].Type);
                Wait.Until(() => h.Events.Count(r => r.NewSessions.Count) == 2, 3000, "a NewSession");
                var fresh = h.Events.Read(r => r.NewSessions[1]);
                Assert.AreEqual(NewSessionReason.Expired, fresh.Reason);
                Assert.AreEqual("s1", fresh.PreviousSessionId);
                Assert.AreEqual("unconfirmed", (string)fresh.Undelivered[0]["text"]);
            }
        }

        [Test]
        public void Close_1008_waits_long_before_reconnecting()
        {
            // The long wait is [RetryCapMs, 2·RetryCapMs]: 30–60 s by default, 400–800 ms here.
            using (var h = Create(o => o.RetryCapMs = 400))
            {
                FakeSocket first = h.Connect();
                long after = CloseAndTimeReconnect(h, first, 1008);
                Assert.That(after, Is.GreaterThanOrEqualTo(700L), "1008 reconnected after " + after + " ms");
            }
        }

        [Test]
        public void A_server_that_keeps_closing_4401_gets_the_backoff_after_the_first_time()
        {
            using (var h = Create())
            {
                FakeSocket first = h.Connect();
                h.Server.CloseOnHello = 4401;
                first.PushClose(4401);
                h.Server.Socket(2);
                long[] at = h.Server.ConnectTimes;
                // The second failure's ceiling is RetryBaseMs (500): ~500 ms with random 0.999.
                Assert.That(at[2] - at[1], Is.GreaterThanOrEqualTo(400L), "the second 4401 in a row backs off");
            }
        }

        [Test]
        public void Store_Clear_on_4401_and_4410()
        {
            foreach (int code in new[] { 4401, 4410 })
            {
                var store = new MemoryStore();
                using (var h = Create(o => o.Store = store))
                {
                    FakeSocket first = h.Connect();
                    Wait.Until(() => store.Current != null, 3000, "the welcome's save");
                    h.Server.Answer = hello => null;
                    first.PushClose(code);
                    h.Server.Socket(1).NextOf("hello");
                    Assert.AreEqual(1, store.Clears, "Clear after " + code);
                    Assert.IsNull(store.Current, "the token is forgotten after " + code);
                }
            }
        }
    }
}
