using System;

namespace Tether.Session
{
    internal enum Verdict
    {
        New,
        Duplicate,
        Gap,
    }

    /// <summary>
    /// The receiving side (docs/session-protocol.md §4): duplicates are told apart by seq, and acks
    /// are cumulative and coalesced, one per AckDelayMs or per AckEvery messages, so a burst costs
    /// one ack. Not thread-safe: the client's lock guards it, and the client's timer calls OnTimer.
    /// </summary>
    internal sealed class Inbound
    {
        private readonly int delayMs;
        private readonly int every;
        private readonly Action<long> sendAck;
        private readonly Action<int> arm;
        private long acked;
        private long latest;
        private int unacked;
        private bool repeat;
        private bool armed;

        /// <param name="sendAck">Puts an ack on the current socket.</param>
        /// <param name="arm">Starts the current socket's ack timer, which calls OnTimer.</param>
        public Inbound(int delayMs, int every, Action<long> sendAck, Action<int> arm)
        {
            this.delayMs = delayMs;
            this.every = Math.Max(1, every);
            this.sendAck = sendAck;
            this.arm = arm;
        }

        /// <summary>The highest seq received in order.</summary>
        public long LastSeq { get; private set; }

        /// <summary>
        /// A duplicate (a replay of something we have) asks for an ack again, since the sender
        /// evidently missed ours; a gap means the transport lost a frame, which an ordered socket
        /// never does, so the caller drops the socket and the resume replays from LastSeq + 1.
        /// </summary>
        public Verdict Receive(long seq)
        {
            if (seq <= LastSeq)
            {
                repeat = true;
                Schedule();
                return Verdict.Duplicate;
            }
            if (seq > LastSeq + 1) return Verdict.Gap;
            LastSeq = seq;
            return Verdict.New;
        }

        /// <summary>Everything up to seq may be acknowledged.</summary>
        public void Ack(long seq)
        {
            if (seq <= latest) return;
            latest = seq;
            unacked++;
            if (unacked >= every) Flush();
            else Schedule();
        }

        /// <summary>Sends the pending ack now (before "pausing" or "end", for instance).</summary>
        public void Flush()
        {
            armed = false;
            if (latest > acked || (repeat && latest > 0)) sendAck(latest);
            acked = latest;
            unacked = 0;
            repeat = false;
        }

        public void OnTimer()
        {
            if (armed) Flush();
        }

        /// <summary>A new socket: the server learnt our position from the hello, nothing is owed.</summary>
        public void Reset(long lastSeq)
        {
            Stop();
            LastSeq = lastSeq;
            latest = lastSeq;
            acked = lastSeq;
        }

        /// <summary>The socket is gone; its ack goes with it.</summary>
        public void Stop()
        {
            armed = false;
            unacked = 0;
            repeat = false;
        }

        private void Schedule()
        {
            if (armed) return;
            if (delayMs <= 0)
            {
                Flush();
                return;
            }
            armed = true;
            arm(delayMs);
        }
    }
}
