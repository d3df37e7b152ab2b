using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Tether.Session
{
    /// <summary>
    /// One socket and everything tied to it: its cancellation, its send queue drained by one
    /// sender task (ClientWebSocket allows one SendAsync at a time), and its timers. Stop() ends
    /// them all; the client's connection loop owns the object and is the only one to call it.
    /// </summary>
    internal sealed class Connection
    {
        private sealed class Outgoing
        {
            public string Text;
            public bool IsClose;
            public int CloseCode;
            public string CloseReason;
        }

        private readonly object sendGate = new object();
        private readonly Queue<Outgoing> outgoing = new Queue<Outgoing>();
        private readonly CancellationTokenSource cancel;
        private readonly Action<string> log;
        private TaskCompletionSource<bool> waiting;
        private bool stopped;
        private string dropReason;
        private bool dropAtOnce;

        /// <remarks>
        /// The token is not linked to the client's lifetime: a linked source registers on its
        /// parent until disposed, and a client that reconnects for days would pile them up. The
        /// client drops its current connection itself when it closes.
        /// </remarks>
        public Connection(IWebSocket socket, int generation, Action<string> log)
        {
            Socket = socket;
            Generation = generation;
            this.log = log;
            cancel = new CancellationTokenSource();
        }

        public IWebSocket Socket { get; private set; }

        public int Generation { get; private set; }

        public CancellationToken Token { get { return cancel.Token; } }

        // Guarded by the client's lock:
        public bool Open;
        public long LastHeardMs;
        public int HeartbeatMs;
        public int DeadAfterMs;
        public OwnedTimer WelcomeTimer;
        public OwnedTimer HeartbeatTimer;
        public OwnedTimer AckTimer;
        public OwnedTimer Watchdog;
        public OwnedTimer CheckTimer;

        /// <summary>Why the client dropped this socket, or null.</summary>
        public string DropReason
        {
            get { lock (sendGate) return dropReason; }
        }

        /// <summary>The drop asks for a reconnect without backoff (the app came back to a dead socket).</summary>
        public bool DropAtOnce
        {
            get { lock (sendGate) return dropAtOnce; }
        }

        public void Enqueue(string text)
        {
            Push(new Outgoing { Text = text });
        }

        /// <summary>Queued behind the frames before it, so "end" goes out before the close.</summary>
        public void EnqueueClose(int code, string reason)
        {
            Push(new Outgoing { IsClose = true, CloseCode = code, CloseReason = reason });
        }

        public void StartSender()
        {
            Task.Run(() => SendLoopAsync());
        }

        /// <summary>
        /// Cuts the socket: the pending receive fails and the loop sees the reason. The first reason
        /// wins. Never called with the client's lock held: cancelling runs callbacks inline.
        /// </summary>
        public bool Drop(string reason, bool atOnce = false)
        {
            lock (sendGate)
            {
                if (dropReason != null) return false;
                dropReason = reason;
                dropAtOnce = atOnce;
            }
            Cut();
            return true;
        }

        /// <summary>Ends the sender and the timers, and releases the socket.</summary>
        public void Stop()
        {
            TaskCompletionSource<bool> sender;
            lock (sendGate)
            {
                if (stopped) return;
                stopped = true;
                outgoing.Clear();
                sender = waiting;
                waiting = null;
            }
            if (sender != null) sender.TrySetCanceled();
            DisposeTimer(WelcomeTimer);
            DisposeTimer(HeartbeatTimer);
            DisposeTimer(AckTimer);
            DisposeTimer(Watchdog);
            DisposeTimer(CheckTimer);
            Cut();
            try
            {
                Socket.Dispose();
            }
            catch (Exception e)
            {
                log("disposing the socket failed: " + e.Message);
            }
        }

        private void Cut()
        {
            try
            {
                cancel.Cancel();
            }
            catch (AggregateException e)
            {
                log("a cancellation callback failed: " + e.InnerException.Message);
            }
            try
            {
                Socket.Abort();
            }
            catch (Exception e)
            {
                log("aborting the socket failed: " + e.Message);
            }
        }

        private static void DisposeTimer(OwnedTimer timer)
        {
            if (timer != null) timer.Dispose();
        }

        private void Push(Outgoing item)
        {
            TaskCompletionSource<bool> sender;
            lock (sendGate)
            {
                if (stopped) return;
                outgoing.Enqueue(item);
                sender = waiting;
                waiting = null;
            }
            // Its continuation runs asynchronously: the caller may hold the client's lock.
            if (sender != null) sender.TrySetResult(true);
        }

        private async Task SendLoopAsync()
        {
            try
            {
                while (true)
                {
                    Outgoing next = null;
                    Task wait = null;
                    lock (sendGate)
                    {
                        if (stopped) return;
                        if (outgoing.Count > 0)
                        {
                            next = outgoing.Dequeue();
                        }
                        else
                        {
                            waiting = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                            wait = waiting.Task;
                        }
                    }
                    if (next == null)
                        await wait.ConfigureAwait(false);
                    else if (next.IsClose)
                        await Socket.CloseAsync(next.CloseCode, next.CloseReason, Token).ConfigureAwait(false);
                    else
                        await Socket.SendAsync(next.Text, Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped, or the socket was cut: the loop already knows.
            }
            catch (Exception e)
            {
                if (!Token.IsCancellationRequested && Drop("send failed: " + e.Message))
                    log("send failed: " + e.Message);
            }
        }
    }
}
