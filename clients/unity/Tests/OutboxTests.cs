using System.Linq;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Tether.Session.Tests
{
    [TestFixture, Timeout(15000)]
    public class OutboxTests
    {
        [Test]
        public void Reject_policy_refuses_when_full()
        {
            using (var h = new Harness(o => o.MaxMessages = 3, s => s.HangConnect = true))
            {
                Assert.IsTrue(h.Client.Send(1));
                Assert.IsTrue(h.Client.Send(2));
                Assert.IsTrue(h.Client.Send(3));
                Assert.IsFalse(h.Client.Send(4), "a fourth message past MaxMessages 3");
                Assert.AreEqual(3, h.Client.Pending);
                Assert.AreEqual(0, h.Events.Count(r => r.Dropped.Count), "Reject drops nothing");
            }
        }

        [Test]
        public void Reject_policy_counts_the_bytes_of_the_bodies()
        {
            // "héllo" is 8 bytes of JSON: its quotes, four ASCII letters and a two-byte é.
            using (var h = new Harness(o => o.MaxBytes = 16, s => s.HangConnect = true))
            {
                Assert.IsTrue(h.Client.Send("héllo"));
                Assert.IsTrue(h.Client.Send("héllo"));
                Assert.IsFalse(h.Client.Send("x"), "a third body past MaxBytes");
                Assert.IsFalse(h.Client.Send(new string('x', 20)), "a body larger than MaxBytes on its own");
                Assert.AreEqual(2, h.Client.Pending);
            }
        }

        [Test]
        public void Drop_oldest_never_evicts_a_sent_message()
        {
            using (var h = new Harness(o => { o.MaxMessages = 3; o.Overflow = OverflowPolicy.DropOldest; }))
            {
                FakeSocket first = h.Connect();
                h.Client.Send(Json.Body("sent-1"));
                h.Client.Send(Json.Body("sent-2"));
                Wait.Until(() => first.SentOfType("data").Count == 2, 3000, "two messages on the wire");
                h.Server.Answer = hello => null;
                first.PushClose(1001);
                FakeSocket second = h.Server.Socket(1);
                second.NextOf("hello");
                Assert.IsTrue(h.Client.Send(Json.Body("queued-1")));
                Assert.IsTrue(h.Client.Send(Json.Body("queued-2")), "room made by evicting queued-1");
                Assert.AreEqual(3, h.Client.Pending);
                Wait.Until(() => h.Events.Count(r => r.Dropped.Count) == 1, 3000, "a Dropped event");
                Assert.AreEqual("queued-1", h.Events.Read(r => (string)r.Dropped[0].Single()["text"]));
                second.Push(h.Server.Welcome("s1", true, 0, 1, null, "s1.t2"));
                Assert.AreEqual("sent-1", (string)second.NextOf("data")["body"]["text"]);
                Assert.AreEqual("sent-2", (string)second.NextOf("data")["body"]["text"]);
                JObject last = second.NextOf("data");
                Assert.AreEqual("queued-2", (string)last["body"]["text"]);
                Assert.AreEqual(3L, (long)last["seq"], "no hole in the sequence where queued-1 was");
            }
        }

        [Test]
        public void Drop_oldest_refuses_when_only_sent_messages_fill_the_outbox()
        {
            using (var h = new Harness(o => { o.MaxMessages = 2; o.Overflow = OverflowPolicy.DropOldest; }))
            {
                FakeSocket socket = h.Connect();
                h.Client.Send(1);
                h.Client.Send(2);
                Wait.Until(() => socket.SentOfType("data").Count == 2, 3000, "two messages on the wire");
                Assert.IsFalse(h.Client.Send(3));
                Assert.AreEqual(0, h.Events.Count(r => r.Dropped.Count));
                socket.Push(new JObject { { "type", "ack" }, { "seq", 2 } });
                Wait.Until(() => h.Client.Pending == 0, 3000, "the ack to empty the outbox");
                Assert.IsTrue(h.Client.Send(3));
            }
        }
    }
}
