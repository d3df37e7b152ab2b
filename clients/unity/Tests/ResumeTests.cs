using System;
using System.IO;
using System.Linq;
using System.Threading;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Tether.Session.Tests
{
    [TestFixture, Timeout(15000)]
    public class ResumeTests
    {
        [Test]
        public void Resumed_welcome_resends_unacked_with_the_same_seq()
        {
            using (var h = new Harness())
            {
                FakeSocket first = h.Connect();
                for (int i = 1; i <= 3; i++) h.Client.Send(Json.Body("m" + i));
                Wait.Until(() => first.SentOfType("data").Count == 3, 3000, "three data frames");
                first.Push(new JObject { { "type", "ack" }, { "seq", 1 } });
                Wait.Until(() => h.Client.Pending == 2, 3000, "the ack to free seq 1");
                // The server stored seq 2 as well, but its ack was lost with the socket.
                h.Server.Answer = hello => h.Server.Welcome("s1", true, 2, (long)hello["lastSeq"] + 1, null, "s1.t2");
                first.PushClose(1001, "restarting");
                FakeSocket second = h.Server.Socket(1);
                JObject hello2 = second.NextOf("hello");
                Assert.AreEqual("s1.t1", (string)hello2["resumeToken"]);
                JObject resent = second.NextOf("data");
                Assert.AreEqual(3L, (long)resent["seq"]);
                Assert.AreEqual("m3", (string)resent["body"]["text"]);
                h.Client.Send(Json.Body("m4"));
                Assert.AreEqual(4L, (long)second.NextOf("data")["seq"]);
                Assert.AreEqual(2, second.SentOfType("data").Count, "seq 2 is not sent again");
                Wait.Until(() => h.Events.Count(r => r.Resumed.Count) == 1, 3000, "the resume");
                var resumed = h.Events.Read(r => r.Resumed.Single());
                Assert.AreEqual("s1", resumed.SessionId);
                Assert.AreEqual(1, resumed.Resent);
                Assert.AreEqual(0L, resumed.Missed);
            }
        }

        [Test]
        public void Resumed_welcome_reports_server_messages_lost_for_good()
        {
            using (var h = new Harness())
            {
                FakeSocket first = h.Connect();
                first.PushData(1, "a");
                first.PushData(2, "b");
                Wait.Until(() => h.Events.Count(r => r.Messages.Count) == 2, 3000, "two messages");
                // The server's replay buffer overflowed while we were away: 3 and 4 are gone.
                h.Server.Answer = hello => h.Server.Welcome("s1", true, 0, 5, null, "s1.t2");
                first.PushClose(1006);
                FakeSocket second = h.Server.Socket(1);
                Assert.AreEqual(2L, (long)second.NextOf("hello")["lastSeq"]);
                Wait.Until(() => h.Events.Count(r => r.Resumed.Count) == 1, 3000, "the resume");
                Assert.AreEqual(2L, h.Events.Read(r => r.Resumed[0].Missed));
                second.PushData(5, "e");
                Wait.Until(() => h.Events.Count(r => r.Messages.Count) == 3, 3000, "seq 5 delivered after the gap the welcome announced");
                Assert.That(h.Events.Read(r => r.Seqs.ToList()), Is.EqualTo(new long[] { 1, 2, 5 }));
            }
        }

        [Test]
        public void New_session_hands_back_undelivered_messages_and_does_not_send_them()
        {
            using (var h = new Harness())
            {
                FakeSocket first = h.Connect();
                h.Client.Send(Json.Body("sent"));
                Wait.Until(() => first.SentOfType("data").Count == 1, 3000, "the first message on the wire");
                h.Server.Answer = hello => null;
                first.PushClose(1001);
                FakeSocket second = h.Server.Socket(1);
                second.NextOf("hello");
                h.Client.Send(Json.Body("queued"));
                second.Push(h.Server.Welcome("s2", false, 0, 1, "expired", "s2.t1"));
                Wait.Until(() => h.Events.Count(r => r.NewSessions.Count) == 2, 3000, "the second NewSession");
                var fresh = h.Events.Read(r => r.NewSessions[1]);
                Assert.AreEqual("s2", fresh.SessionId);
                Assert.AreEqual(NewSessionReason.Expired, fresh.Reason);
                Assert.AreEqual("s1", fresh.PreviousSessionId);
                Assert.That(fresh.Undelivered.Select(b => (string)b["text"]).ToList(), Is.EqualTo(new[] { "sent", "queued" }));
                Thread.Sleep(50);
                Assert.AreEqual(0, second.SentOfType("data").Count, "old messages went to the new session: " + second.Describe());
                Assert.AreEqual(0, h.Client.Pending);
                h.Client.Send(Json.Body("new"));
                Assert.AreEqual(1L, (long)second.NextOf("data")["seq"], "a new session numbers from 1");
            }
        }

        [Test]
        public void A_welcome_that_claims_a_resume_of_another_session_is_a_new_session()
        {
            using (var h = new Harness())
            {
                FakeSocket first = h.Connect();
                h.Server.Answer = hello => h.Server.Welcome("someone-else", true, 0, 1, null, "x.t1");
                first.PushClose(1001);
                Wait.Until(() => h.Events.Count(r => r.NewSessions.Count) == 2, 3000, "a NewSession");
                Assert.AreEqual(NewSessionReason.Unknown, h.Events.Read(r => r.NewSessions[1].Reason));
                Assert.AreEqual(0, h.Events.Count(r => r.Resumed.Count));
            }
        }

        [Test]
        public void Stored_token_is_sent_in_the_first_hello_and_NewSession_Expired_carries_the_stored_id_as_previous()
        {
            var store = new MemoryStore(new StoredSession { SessionId = "old", ResumeToken = "old.t9", LastSeq = 17 });
            using (var h = new Harness(o => o.Store = store, s => s.Answer = hello => null))
            {
                Assert.AreEqual("old", h.Client.SessionId, "the stored session is the previous one");
                h.Client.Send(Json.Body("for the old conversation"));
                FakeSocket socket = h.Server.Socket(0);
                JObject hello = socket.NextOf("hello");
                Assert.AreEqual("old.t9", (string)hello["resumeToken"]);
                Assert.AreEqual(17L, (long)hello["lastSeq"]);
                socket.Push(h.Server.Welcome("s1", false, 0, 1, "expired", "s1.t1"));
                Wait.Until(() => h.Events.Count(r => r.NewSessions.Count) == 1, 3000, "NewSession");
                var fresh = h.Events.Read(r => r.NewSessions[0]);
                Assert.AreEqual(NewSessionReason.Expired, fresh.Reason);
                Assert.AreEqual("old", fresh.PreviousSessionId);
                Assert.AreEqual("for the old conversation", (string)fresh.Undelivered.Single()["text"]);
                Wait.Until(() => store.Current != null && store.Current.SessionId == "s1", 3000, "the new session saved");
                Assert.AreEqual("s1.t1", store.Current.ResumeToken);
                Assert.AreEqual(0L, store.Current.LastSeq);
            }
        }

        [Test]
        public void A_stored_session_resumes_and_numbers_new_messages_after_the_servers_lastSeq()
        {
            var store = new MemoryStore(new StoredSession { SessionId = "s7", ResumeToken = "s7.t1", LastSeq = 3 });
            using (var h = new Harness(o => o.Store = store, s => s.Knows("s7.t1", "s7", 41)))
            {
                FakeSocket socket = h.Connect();
                Wait.Until(() => h.Events.Count(r => r.Resumed.Count) == 1, 3000, "the resume");
                Assert.AreEqual(0, h.Events.Count(r => r.NewSessions.Count));
                h.Client.Send(Json.Body("after the restart"));
                Assert.AreEqual(42L, (long)socket.NextOf("data")["seq"], "seq 1 would be a duplicate to the server");
                socket.PushData(4, "replayed");
                Wait.Until(() => h.Events.Count(r => r.Messages.Count) == 1, 3000, "the replay from lastSeq + 1");
            }
        }

        [Test]
        public void Store_Save_at_every_welcome_Pause_CloseAsync_end_false_and_Dispose()
        {
            var store = new MemoryStore();
            using (var h = new Harness(o => o.Store = store))
            {
                FakeSocket first = h.Connect();
                Wait.Until(() => store.Saves == 1, 3000, "a save at the welcome");
                first.PushData(1, "x");
                Wait.Until(() => h.Events.Count(r => r.Messages.Count) == 1, 3000, "a message");
                h.Client.Pause();
                Assert.AreEqual(2, store.Saves, "Pause saves before it returns");
                Assert.AreEqual(1L, store.Current.LastSeq);
                first.PushClose(1001);
                Wait.Until(() => store.Saves == 3, 3000, "a save at the resume's welcome");
                Assert.AreEqual("s1.t2", store.Current.ResumeToken, "the rotated token");
                Wait.For(h.Client.CloseAsync(false), 3000, "CloseAsync(false)");
                Assert.AreEqual(4, store.Saves);
                Assert.AreEqual(0, store.Clears);
            }
            var other = new MemoryStore();
            var client = new Harness(o => o.Store = other);
            client.Connect();
            Wait.Until(() => other.Saves == 1, 3000, "a save at the welcome");
            client.Client.Dispose();
            Assert.AreEqual(2, other.Saves, "Dispose saves before it returns");
            Assert.AreEqual("s1", other.Current.SessionId);
        }

        [Test]
        public void CloseAsync_with_end_clears_the_store()
        {
            var store = new MemoryStore();
            using (var h = new Harness(o => o.Store = store))
            {
                h.Connect();
                Wait.For(h.Client.CloseAsync(), 3000, "CloseAsync");
                Assert.IsNull(store.Current);
                Assert.AreEqual(1, store.Clears);
            }
        }

        [Test]
        public void A_second_client_over_the_same_FileSessionStore_resumes_the_session()
        {
            string dir = Path.Combine(Path.GetTempPath(), "tether-store-" + Guid.NewGuid().ToString("N"));
            string path = Path.Combine(dir, "session.json");
            try
            {
                var server = new FakeServer();
                using (var first = new SessionClient(new SessionClientOptions
                {
                    Url = new Uri("ws://test.invalid/session"), SocketFactory = server.Factory, Store = new FileSessionStore(path),
                }))
                {
                    Wait.For(first.ConnectAsync(), 3000, "the first client");
                    server.Last.PushData(1, "hi");
                    server.Last.PushData(2, "there");
                    Wait.Until(() => server.Last.SentOfType("ack").Exists(a => (long)a["seq"] == 2), 3000, "the ack of 2");
                }
                using (var second = new SessionClient(new SessionClientOptions
                {
                    Url = new Uri("ws://test.invalid/session"), SocketFactory = server.Factory, Store = new FileSessionStore(path),
                }))
                {
                    var events = new Recorder(second);
                    Wait.For(second.ConnectAsync(), 3000, "the second client");
                    JObject hello = server.Last.NextOf("hello");
                    Assert.AreEqual("s1.t1", (string)hello["resumeToken"]);
                    Assert.AreEqual(2L, (long)hello["lastSeq"]);
                    Wait.Until(() => events.Count(r => r.Resumed.Count) == 1, 3000, "the resume");
                    Assert.AreEqual("s1", second.SessionId);
                }
            }
            finally
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, true);
            }
        }
    }
}
