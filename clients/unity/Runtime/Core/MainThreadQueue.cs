using System;
using System.Collections.Generic;

namespace Tether.Session
{
    /// <summary>
    /// Actions posted from any thread, run where Pump() is called (Unity: a MonoBehaviour's
    /// Update), first in first out. Pass its Post as SessionClientOptions.Dispatch and the
    /// client's events run on the main thread.
    /// </summary>
    public sealed class MainThreadQueue
    {
        private readonly object gate = new object();
        private readonly Queue<Action> actions = new Queue<Action>();

        public int Count
        {
            get { lock (gate) return actions.Count; }
        }

        public void Post(Action action)
        {
            if (action == null) throw new ArgumentNullException("action");
            lock (gate) actions.Enqueue(action);
        }

        /// <summary>
        /// Runs up to max of the actions queued when the pump started, and returns how many ran.
        /// Actions they post wait for the next pump, so a handler that posts cannot hold a frame
        /// forever. An action that throws ends this pump (the exception propagates, for Unity to
        /// log); the rest stay queued for the next one.
        /// </summary>
        public int Pump(int max = int.MaxValue)
        {
            int budget;
            lock (gate) budget = Math.Min(max, actions.Count);
            int ran = 0;
            while (ran < budget)
            {
                Action next;
                lock (gate)
                {
                    if (actions.Count == 0) break;
                    next = actions.Dequeue();
                }
                ran++;
                next();
            }
            return ran;
        }
    }
}
