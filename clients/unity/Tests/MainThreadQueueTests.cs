using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using NUnit.Framework;

namespace Tether.Session.Tests
{
    [TestFixture, Timeout(15000)]
    public class MainThreadQueueTests
    {
        [Test]
        public void Pump_runs_actions_first_in_first_out_up_to_max()
        {
            var queue = new MainThreadQueue();
            var ran = new List<int>();
            for (int i = 0; i < 5; i++)
            {
                int n = i;
                queue.Post(() => ran.Add(n));
            }
            Assert.AreEqual(5, queue.Count);
            Assert.AreEqual(0, ran.Count, "nothing runs before the pump");
            Assert.AreEqual(2, queue.Pump(2));
            Assert.That(ran, Is.EqualTo(new[] { 0, 1 }));
            Assert.AreEqual(3, queue.Pump());
            Assert.That(ran, Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
            Assert.AreEqual(0, queue.Pump());
        }

        [Test]
        public void Actions_posted_during_a_pump_wait_for_the_next_one()
        {
            var queue = new MainThreadQueue();
            int runs = 0;
            Action again = null;
            again = () =>
            {
                runs++;
                queue.Post(again);
            };
            queue.Post(again);
            Assert.AreEqual(1, queue.Pump());
            Assert.AreEqual(1, runs);
            Assert.AreEqual(1, queue.Count);
        }

        [Test]
        public void Posts_from_many_threads_are_all_run_once()
        {
            var queue = new MainThreadQueue();
            int sum = 0;
            var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
            {
                for (int i = 1; i <= 1000; i++)
                {
                    int n = i;
                    queue.Post(() => sum += n);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            int pumped = 0;
            while (threads.Any(t => t.IsAlive)) pumped += queue.Pump();
            threads.ForEach(t => Assert.IsTrue(t.Join(3000)));
            pumped += queue.Pump();
            Assert.AreEqual(8000, pumped);
            Assert.AreEqual(8 * 500500, sum);
        }

        [Test]
        public void An_action_that_throws_ends_the_pump_and_the_rest_wait()
        {
            var queue = new MainThreadQueue();
            var ran = new List<string>();
            queue.Post(() => ran.Add("a"));
            queue.Post(() => { throw new InvalidOperationException("boom"); });
            queue.Post(() => ran.Add("c"));
            Assert.Throws<InvalidOperationException>(() => queue.Pump());
            Assert.That(ran, Is.EqualTo(new[] { "a" }));
            Assert.AreEqual(1, queue.Pump());
            Assert.That(ran, Is.EqualTo(new[] { "a", "c" }));
        }
    }
}
