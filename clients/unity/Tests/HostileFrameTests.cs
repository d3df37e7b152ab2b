using System.Collections.Generic;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Tether.Session.Tests
{
    /// <summary>Frames from the server are hostile: each costs the socket, with a reason, never the loop.</summary>
    [TestFixture, Timeout(20000)]
    public class HostileFrameTests
    {
        private static void DropsAndRecovers(string frame, string logged)
        {
            using (var h = new Harness())
            {
                FakeSocket first = h.Connect();
                first.PushText(frame);
                Wait.Until(() => first.Aborted, 3000, "the socket to be dropped for " + Short(frame));
                h.WaitForLog(logged);
                h.Server.Socket(1);
                Wait.Until(() => h.Events.Count(r => r.Resumed.Count) == 1, 3000, "the loop went on and resumed");
            }
        }

        private static string Short(string text)
        {
            return text.Length > 40 ? text.Substring(0, 40) + "…" : text;
        }

        [Test]
        public void Malformed_frames_drop_the_socket_with_a_logged_reason_and_the_loop_goes_on()
        {
            var cases = new Dictionary<string, string>
            {
                { "{not json", "bad frame: not JSON" },
                { "[1,2]", "bad frame: not a JSON object" },
                { "{\"seq\":1}", "bad frame: a frame without a type" },
                { "{\"type\":\"surprise\"}", "bad frame: unknown frame type \"surprise\"" },
                { "{\"type\":\"data\",\"seq\":\"1\",\"body\":1}", "bad frame: data needs a positive seq" },
                { "{\"type\":\"data\",\"seq\":0,\"body\":1}", "bad frame: data needs a positive seq" },
                { "{\"type\":\"data\",\"seq\":1.5,\"body\":1}", "bad frame: data needs a positive seq" },
                { "{\"type\":\"ack\",\"seq\":99999999999999999999}", "bad frame: ack needs a positive seq" },
                { "{\"type\":\"pong\"} {\"type\":\"pong\"}", "bad frame: not JSON" },
                { new string('[', 200) + new string(']', 200), "bad frame: not JSON" },
                { "{\"type\":\"welcome\",\"sessionId\":\"s1\"}", "bad frame: welcome without sessionId or resumeToken" },
                { new FakeServer().Welcome("s1", true, 0, 1, null, "s1.t9").ToString(), "a second welcome" },
            };
            foreach (var c in cases) DropsAndRecovers(c.Key, c.Value);
        }

        [Test]
        public void A_frame_over_1_MiB_drops_the_socket()
        {
            string big = "{\"type\":\"data\",\"seq\":1,\"body\":\"" + new string('x', 1 << 20) + "\"}";
            DropsAndRecovers(big, "bad frame: frame over 1048576 bytes");
        }

        [Test]
        public void A_binary_frame_drops_the_socket()
        {
            using (var h = new Harness())
            {
                FakeSocket first = h.Connect();
                first.PushBinary();
                Wait.Until(() => first.Aborted, 3000, "the socket to be dropped");
                h.WaitForLog("a binary frame");
                h.Server.Socket(1);
            }
        }

        [Test]
        public void A_bad_welcome_or_data_before_the_welcome_drops_the_socket()
        {
            using (var h = new Harness(stage: s => s.Answer = hello => null))
            {
                h.Client.Send(1);
                FakeSocket first = h.Server.Socket(0);
                first.NextOf("hello");
                first.PushData(1, "too early");
                Wait.Until(() => first.Aborted, 3000, "the socket to be dropped");
                h.WaitForLog("data before the welcome");
                FakeSocket second = h.Server.Socket(1);
                second.NextOf("hello");
                second.Push(new JObject { { "type", "welcome" }, { "sessionId", "s1" }, { "resumeToken", "t" }, { "resumed", "yes" } });
                Wait.Until(() => second.Aborted, 3000, "the second socket to be dropped");
                h.WaitForLog("welcome without resumed");
                Assert.AreEqual(0, h.Events.Count(r => r.Messages.Count));
            }
        }
    }
}
