using System;
using System.Linq;
using NUnit.Framework;

namespace Tether.Session.Tests
{
    [TestFixture, Timeout(15000)]
    public class BackoffTests
    {
        private static readonly double[] Randoms = { 0, 1e-9, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 0.999999999 };

        [Test]
        public void Backoff_first_retry_is_at_most_250_ms()
        {
            var backoff = new Backoff(250, 500, 30000);
            foreach (double r in Randoms)
            {
                int delay = backoff.Delay(1, r);
                Assert.That(delay, Is.InRange(0, 250), "random " + r);
            }
            Assert.AreEqual(0, backoff.Delay(1, 0));
            Assert.AreEqual(250, backoff.Delay(1, 0.999999999), "the whole range is reachable");
        }

        [Test]
        public void Backoff_full_jitter_stays_under_the_cap()
        {
            var backoff = new Backoff(250, 500, 30000);
            for (int n = 2; n <= 100; n++)
            {
                long expected = Math.Min(30000L, 500L * (1L << Math.Min(n - 2, 40)));
                Assert.AreEqual(expected, (long)backoff.Ceiling(n), "ceiling of failure " + n);
                foreach (double r in Randoms)
                    Assert.That(backoff.Delay(n, r), Is.InRange(0, (int)expected), "failure " + n + ", random " + r);
                Assert.AreEqual(0, backoff.Delay(n, 0), "full jitter reaches 0");
            }
            Assert.AreEqual(500, backoff.Ceiling(2));
            Assert.AreEqual(1000, backoff.Ceiling(3));
            Assert.AreEqual(30000, backoff.Ceiling(9));
        }

        [Test]
        public void Backoff_spreads_a_fleet_over_the_whole_range()
        {
            var backoff = new Backoff(250, 500, 30000);
            var random = new Random(7);
            var delays = Enumerable.Range(0, 2000).Select(_ => backoff.Delay(5, random.NextDouble())).ToList();
            // Failure 5: ceiling 4,000 ms, uniform: mean near 2,000, both ends reached.
            Assert.That(delays.Average(), Is.InRange(1800.0, 2200.0));
            Assert.That(delays.Min(), Is.LessThan(200));
            Assert.That(delays.Max(), Is.GreaterThan(3800));
        }

        [Test]
        public void The_long_wait_after_1008_is_between_the_cap_and_twice_it()
        {
            var backoff = new Backoff(250, 500, 30000);
            foreach (double r in Randoms) Assert.That(backoff.LongWait(r), Is.InRange(30000, 60000));
        }
    }
}
