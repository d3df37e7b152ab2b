using System;

namespace Tether.Session
{
    /// <summary>
    /// Retry delays as plain numbers, so a test can check the bounds with any random value.
    /// Full jitter (uniform over [0, ceiling]) spreads a fleet of clients that lost their sockets
    /// together; the first retry after a loss is quick, because most losses are one-offs.
    /// </summary>
    internal sealed class Backoff
    {
        private readonly int firstMaxMs;
        private readonly int baseMs;
        private readonly int capMs;

        public Backoff(int firstMaxMs, int baseMs, int capMs)
        {
            this.firstMaxMs = Math.Max(0, firstMaxMs);
            this.baseMs = Math.Max(0, baseMs);
            this.capMs = Math.Max(0, capMs);
        }

        /// <summary>The most the n-th consecutive failure (n ≥ 1) may wait.</summary>
        public int Ceiling(int failures)
        {
            if (failures <= 1) return firstMaxMs;
            int shift = Math.Min(failures - 2, 30);
            long ceiling = (long)baseMs << shift;
            return (int)Math.Min(capMs, ceiling);
        }

        public int Delay(int failures, double random)
        {
            return FullJitter(Ceiling(failures), random);
        }

        /// <summary>
        /// After a proxy's policy close (1008): uniform in [cap, 2·cap], 30–60 s by default, as the
        /// TypeScript client waits after an unwelcome close. Hammering a proxy that refuses us helps
        /// nobody.
        /// </summary>
        public int LongWait(double random)
        {
            return capMs + FullJitter(capMs, random);
        }

        /// <summary>Uniform over the whole ms in [0, ceiling].</summary>
        public static int FullJitter(int ceilingMs, double random)
        {
            if (ceilingMs <= 0) return 0;
            if (double.IsNaN(random) || random < 0) random = 0;
            int value = (int)Math.Floor(random * (ceilingMs + 1.0));
            return Math.Min(value, ceilingMs);
        }
    }
}
