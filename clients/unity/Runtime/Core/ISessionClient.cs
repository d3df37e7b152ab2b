using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Tether.Session
{
    /// <summary>
    /// A resumable session (docs/session-protocol.md). Every member may be called from any
    /// thread; every event runs through SessionClientOptions.Dispatch, in the order it happened.
    /// </summary>
    public interface ISessionClient : IDisposable
    {
        SessionState State { get; }

        /// <summary>null before the first welcome (or the stored session's id).</summary>
        string SessionId { get; }

        /// <summary>Messages queued or awaiting an ack.</summary>
        int Pending { get; }

        /// <summary>A server message (body, seq): in order, once.</summary>
        event Action<JToken, long> Message;

        event Action<ResumedEventArgs> Resumed;

        /// <summary>Whatever the app believed about the conversation is void.</summary>
        event Action<NewSessionEventArgs> NewSession;

        /// <summary>(to, from).</summary>
        event Action<SessionState, SessionState> StateChanged;

        /// <summary>Bodies evicted by OverflowPolicy.DropOldest.</summary>
        event Action<IList<JToken>> Dropped;

        event Action<ClosedReason> Closed;

        /// <summary>Starts or joins the connection; completes at the welcome.</summary>
        Task ConnectAsync();

        /// <summary>Queues a message; false when refused (overflow) or closed.</summary>
        bool Send(JToken body);

        /// <summary>The app is about to be suspended: flush the ack, send "pausing", save.</summary>
        void Pause();

        /// <summary>The app runs again: ping now; a gone or silent socket is replaced at once.</summary>
        void Resume();

        /// <summary>end: the server forgets the session; otherwise it stays resumable.</summary>
        Task CloseAsync(bool end = true);
    }
}
