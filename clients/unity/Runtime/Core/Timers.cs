using System;
using System.Collections.Generic;
using System.Threading;

namespace Tether.Session
{
    /// <summary>
    /// Every timer the client runs, owned in one place so Dispose stops them all and a test can
    /// count what is left. Callbacks run on the thread pool, never on the dispatcher: a Unity main
    /// thread that is not pumped must not cost the connection its heartbeat or its acks.
    /// </summary>
    internal sealed class TimerSet
    {
        private readonly object gate = new object();
        private readonly HashSet<OwnedTimer> live = new HashSet<OwnedTimer>();
        private readonly Action<string> log;
        private bool disposed;

        public TimerSet(Action<string> log)
        {
            this.log = log;
        }

        public int Live
        {
            get { lock (gate) return live.Count; }
        }

        public OwnedTimer Create(string name, Action callback)
        {
            var timer = new OwnedTimer(this, name, callback);
            lock (gate)
            {
                if (disposed)
                {
                    timer.Dispose();
                    return timer;
                }
                live.Add(timer);
            }
            return timer;
        }

        public void DisposeAll()
        {
            OwnedTimer[] all;
            lock (gate)
            {
                disposed = true;
                all = new OwnedTimer[live.Count];
                live.CopyTo(all);
            }
            foreach (OwnedTimer timer in all) timer.Dispose();
        }

        internal void Forget(OwnedTimer timer)
        {
            lock (gate) live.Remove(timer);
        }

        internal void Failed(string name, Exception e)
        {
            // An exception escaping a thread-pool timer would take the whole app down.
            log("the " + name + " timer failed: " + e);
        }
    }

    internal sealed class OwnedTimer : IDisposable
    {
        private readonly object gate = new object();
        private readonly TimerSet owner;
        private readonly string name;
        private readonly Action callback;
        private readonly Timer timer;
        private bool disposed;

        internal OwnedTimer(TimerSet owner, string name, Action callback)
        {
            this.owner = owner;
            this.name = name;
            this.callback = callback;
            timer = new Timer(Fire, null, Timeout.Infinite, Timeout.Infinite);
        }

        /// <summary>Fires once after dueMs (re-arming moves the one pending firing).</summary>
        public void Arm(int dueMs)
        {
            Change(Math.Max(0, dueMs), Timeout.Infinite);
        }

        public void Every(int periodMs)
        {
            Change(periodMs, periodMs);
        }

        public void Disarm()
        {
            Change(Timeout.Infinite, Timeout.Infinite);
        }

        public void Dispose()
        {
            lock (gate)
            {
                if (disposed) return;
                disposed = true;
                timer.Dispose();
            }
            owner.Forget(this);
        }

        private void Change(int due, int period)
        {
            lock (gate)
            {
                if (!disposed) timer.Change(due, period);
            }
        }

        private void Fire(object state)
        {
            lock (gate)
            {
                if (disposed) return;
            }
            try
            {
                callback();
            }
            catch (Exception e)
            {
                owner.Failed(name, e);
            }
        }
    }
}
