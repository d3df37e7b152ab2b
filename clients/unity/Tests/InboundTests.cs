using System.Linq;
using System.Threading;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Tether.Session.Tests
{
    [TestFixture, Timeout(15000)]
    public class InboundTests
    {
        [Test]
        public void Acks_are_coalesced_a_hundred_messages_cost_few_acks()
        {
            // AckDelayMs 100 rather than 20, so a loaded machine's slow receive loop cannot turn
            // the delay into one ack per frame.
            using (var h = new Harness(o => o.AckDelayMs = 100))
            {
                FakeSocket socket = h.Connect();
                for (int i = 1; i <= 100; i++) socket.PushData(i, i);
                Wait.Until(() => h.Events.Count(r => r.Messages.Count) == 100, 3000, "100 messages");
                Wait.Until(() => socket.SentOfType("ack").Any(a => (long)a["seq"] == 100), 3000, "an ack of 100");
                Thread.Sleep(150);
                var acks = socket.SentOfType("ack").Select(a => (long)a["seq"]).ToList();
                // Every 32 messages, plus one for the rest after AckDelayMs.
                Assert.That(acks.Count, Is.LessThanOrEqualTo(5), "acks: " + string.Join(",", acks));
                Assert.That(acks, Is.Ordered);
                Assert.That(h.Events.Read(r => r.Seqs.ToList()), Is.EqualTo(Enumerable.Range(1, 100).Select(i => (long)i).ToList()));
            }
        }

        [Test]
        public void A_lone_message_is_acked_after_AckDelayMs()
        {
            using (var h = new Harness(o => o.AckDelayMs = 100))
            {
                FakeSocket socket = h.Connect();
                socket.PushData(1, "x");
                Wait.Until(() => h.Events.Count(r => r.Messages.Count) == 1, 3000, "the message");
                Thread.Sleep(40);
                Assert.AreEqual(0, socket.SentOfType("ack").Count, "the ack waited for more");
                Wait.Until(() => socket.SentOfType("ack").Count == 1, 3000, "the delayed ack");
                Assert.AreEqual(1L, (long)socket.SentOfType("ack")[0]["seq"]);
            }
        }

        [Test]
        public void A_duplicate_is_re_acked_and_not_delivered_twice()
        {
            using (var h = new Harness())
            {
                FakeSocket socket = h.Connect();
                socket.PushData(1, "a");
                socket.PushData(2, "b");
                Wait.Until(() => socket.SentOfType("ack").Any(a => (long)a["seq"] == 2), 3000, "the ack of 2");
                int acks = socket.SentOfType("ack").Count;
                socket.PushData(2, "b");
                Wait.Until(() => socket.SentOfType("ack").Count == acks + 1, 3000, "the ack again");
                Assert.AreEqual(2L, (long)socket.SentOfType("ack").Last()["seq"]);
                Assert.AreEqual(2, h.Events.Count(r => r.Messages.Count));
                Assert.AreEqual(1, h.Server.SocketCount, "a duplicate is not an error");
            }
        }

        [Test]
        public void A_gap_drops_the_socket()
        {
            using (var h = new Harness())
            {
                FakeSocket first = h.Connect();
                first.PushData(1, "a");
                first.PushData(3, "c");
                Wait.Until(() => first.Aborted, 3000, "the socket to be dropped");
                h.WaitForLog("sequence gap: expected 2, got 3");
                JObject hello = h.Server.Socket(1).NextOf("hello");
                Assert.AreEqual(1L, (long)hello["lastSeq"], "the resume replays from the gap");
                Assert.AreEqual(1, h.Events.Count(r => r.Messages.Count), "seq 3 was not delivered");
            }
        }

        [Test]
        public void An_ack_frees_the_outbox_up_to_its_seq()
        {
            using (var h = new Harness())
            {
                FakeSocket socket = h.Connect();
                for (int i = 0; i < 5; i++) h.Client.Send(i);
                Wait.Until(() => socket.SentOfType("data").Count == 5, 3000, "five messages");
                socket.Push(new JObject { { "type", "ack" }, { "seq", 3 } });
                Wait.Until(() => h.Client.Pending == 2, 3000, "two left awaiting their ack");
            }
        }
    }
}
