using System.Collections.Generic;

namespace Tether.Session
{
    /// <summary>
    /// The client's messages until the server acknowledges them: first those already sent
    /// (numbered, sent again after a resume with the same seq), then those queued while there was
    /// no welcome (numbered only when first sent, so a message dropped from the queue leaves no
    /// hole in the sequence). Not thread-safe: the client's lock guards it.
    /// </summary>
    internal sealed class Outbox
    {
        private sealed class Entry
        {
            /// <summary>0 until first sent.</summary>
            public long Seq;
            public string Json;
            public int Bytes;
        }

        private readonly List<Entry> entries = new List<Entry>();
        private readonly int maxMessages;
        private readonly long maxBytes;
        private readonly OverflowPolicy overflow;
        private long nextSeq = 1;
        private long total;

        public Outbox(int maxMessages, long maxBytes, OverflowPolicy overflow)
        {
            this.maxMessages = maxMessages;
            this.maxBytes = maxBytes;
            this.overflow = overflow;
        }

        public int Count { get { return entries.Count; } }

        public long Bytes { get { return total; } }

        /// <summary>Queues a body; `dropped` gets the JSON of the bodies evicted to make room (or stays null).</summary>
        public bool Push(string json, out List<string> dropped)
        {
            dropped = null;
            int bytes = Frames.Utf8Length(json);
            if (bytes > maxBytes) return false;
            if (Fits(bytes)) return Add(json, bytes);
            if (overflow == OverflowPolicy.Reject) return false;
            int first = FirstUnsent();
            long sentBytes = total;
            for (int i = first; i >= 0 && i < entries.Count; i++) sentBytes -= entries[i].Bytes;
            int sent = first < 0 ? entries.Count : first;
            // Evicting is only worth it when it makes room: otherwise refuse and lose nothing.
            if (sent + 1 > maxMessages || sentBytes + bytes > maxBytes) return false;
            dropped = new List<string>();
            while (!Fits(bytes))
            {
                Entry evicted = entries[first];
                entries.RemoveAt(first);
                total -= evicted.Bytes;
                dropped.Add(evicted.Json);
            }
            return Add(json, bytes);
        }

        /// <summary>Numbers the queued messages and returns their data frames, in order.</summary>
        public List<string> TakeUnsent()
        {
            var frames = new List<string>();
            foreach (Entry entry in entries)
            {
                if (entry.Seq != 0) continue;
                entry.Seq = nextSeq++;
                frames.Add(Frames.Data(entry.Seq, entry.Json));
            }
            return frames;
        }

        /// <summary>The server has stored everything up to seq.</summary>
        public void Ack(long seq)
        {
            int n = 0;
            while (n < entries.Count && entries[n].Seq != 0 && entries[n].Seq <= seq)
            {
                total -= entries[n].Bytes;
                n++;
            }
            if (n > 0) entries.RemoveRange(0, n);
        }

        /// <summary>The frames sent before and not acknowledged, to send again on a new socket.</summary>
        public List<string> Unacked()
        {
            var frames = new List<string>();
            foreach (Entry entry in entries)
                if (entry.Seq != 0) frames.Add(Frames.Data(entry.Seq, entry.Json));
            return frames;
        }

        /// <summary>
        /// A resumed session's numbering goes on after what the server stored. It matters after an
        /// app restart: the stored session resumes, but this outbox starts again from 1, and the
        /// server would take seq 1 for a duplicate of a message it already has.
        /// </summary>
        public void ContinueAfter(long serverLastSeq)
        {
            if (nextSeq <= serverLastSeq) nextSeq = serverLastSeq + 1;
        }

        /// <summary>Empties the outbox for a new session and returns the bodies' JSON, oldest first.</summary>
        public List<string> Drain()
        {
            var bodies = new List<string>(entries.Count);
            foreach (Entry entry in entries) bodies.Add(entry.Json);
            entries.Clear();
            total = 0;
            nextSeq = 1;
            return bodies;
        }

        private bool Fits(int bytes)
        {
            return entries.Count + 1 <= maxMessages && total + bytes <= maxBytes;
        }

        private int FirstUnsent()
        {
            for (int i = 0; i < entries.Count; i++)
                if (entries[i].Seq == 0) return i;
            return -1;
        }

        private bool Add(string json, int bytes)
        {
            entries.Add(new Entry { Json = json, Bytes = bytes });
            total += bytes;
            return true;
        }
    }
}
